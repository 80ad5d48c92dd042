/**
 * Stored format: an 8-byte header, then the vector as little-endian float32.
 *   bytes 0-1  'LE' (magic)
 *   byte  2    format version (1)
 *   byte  3    element type (1 = float32)
 *   bytes 4-7  dimensions, uint32 LE
 * 1536 dims take 6 152 bytes, against ~32 kB as JSON text. float32 keeps ~7 significant
 * digits (relative error <= 6e-8), far below what embedding models resolve.
 */
import { endianness } from 'node:os';

/** float32 bytes can be copied as-is only on a little-endian host (all mainstream ones). */
const LITTLE_ENDIAN_HOST = endianness() === 'LE';
const MAGIC_0 = 0x4c; // 'L'
const MAGIC_1 = 0x45; // 'E'
const FORMAT = 1;
const FLOAT32 = 1;
export const HEADER_BYTES = 8;

export function encodeVector(vector: ArrayLike<number>): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + vector.length * 4);
  buf[0] = MAGIC_0;
  buf[1] = MAGIC_1;
  buf[2] = FORMAT;
  buf[3] = FLOAT32;
  buf.writeUInt32LE(vector.length, 4);
  if (LITTLE_ENDIAN_HOST && vector instanceof Float32Array) {
    buf.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), HEADER_BYTES);
  } else {
    for (let i = 0; i < vector.length; i++) buf.writeFloatLE(vector[i] ?? 0, HEADER_BYTES + i * 4);
  }
  return buf;
}

/**
 * The vector in `buf`, or undefined when it is not a well-formed entry (wrong magic, version,
 * length, or dimensions other than `expectedDims`, or a non-finite value): then it is a miss.
 * Buffers from `mgetBuffer` often start at an offset that is not a multiple of 4, so values are
 * read one by one rather than through a Float32Array view.
 */
export function decodeVector(buf: Buffer, expectedDims?: number): Float32Array | undefined {
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1 || buf[2] !== FORMAT || buf[3] !== FLOAT32) return undefined;
  const dims = buf.readUInt32LE(4);
  if (dims === 0 || buf.length !== HEADER_BYTES + dims * 4) return undefined;
  if (expectedDims !== undefined && dims !== expectedDims) return undefined;
  const out = new Float32Array(dims);
  if (LITTLE_ENDIAN_HOST) {
    // One byte copy; works at any byteOffset (a Float32Array view would need a multiple of 4).
    new Uint8Array(out.buffer).set(buf.subarray(HEADER_BYTES, HEADER_BYTES + dims * 4));
  } else {
    for (let i = 0; i < dims; i++) out[i] = buf.readFloatLE(HEADER_BYTES + i * 4);
  }
  for (let i = 0; i < dims; i++) if (!Number.isFinite(out[i])) return undefined;
  return out;
}
