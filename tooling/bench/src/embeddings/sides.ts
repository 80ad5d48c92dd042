/**
 * The anchors: the raw ways of reading embeddings back from Redis. Every side derives its keys
 * inside the timed region (a raw caller has to hash its texts too), with the same function
 * (`cache.keyFor`, SHA-256), so a ratio shows what the cache adds beyond the work any
 * Redis-backed embedding cache must do.
 */
import type { EmbeddingCache } from '@lota/embedding-cache';
import { HEADER_BYTES } from '@lota/embedding-cache/internal';
import { msSince } from '../stats.js';
import { DIMS, MODEL, vectorOf, type Env } from './data.js';

/** Same length as the cache's 'lota' prefix, so the JSON keys are the same size as ours. */
const JSON_PREFIX = 'lcjs';

export const RAW_ANCHOR = 'raw mgetBuffer + aligned copy + for-loop to number[]';
export const RAW_ARRAY_FROM_ANCHOR = 'raw mgetBuffer + aligned copy + Array.from';
export const JSON_ANCHOR = 'JSON strings (LangChain CacheBackedEmbeddings style): MGET + JSON.parse';

export const keyFor = (cache: EmbeddingCache, text: string): string => cache.keyFor(MODEL, text, { dimensions: DIMS });
export const jsonKeyFor = (cache: EmbeddingCache, text: string): string => `${JSON_PREFIX}${keyFor(cache, text).slice(JSON_PREFIX.length)}`;

/**
 * The float32 values of a stored entry, copied into an aligned buffer (a Float32Array view over an
 * mgetBuffer Buffer usually throws: its byteOffset is rarely a multiple of 4). Assumes a
 * little-endian host, like every x86/ARM server.
 */
function alignedValues(buf: Buffer | null): Float32Array {
  if (!buf) throw new Error('raw anchor: a key is missing from Redis');
  const dims = buf.readUInt32LE(4);
  const aligned = new Float32Array(dims);
  new Uint8Array(aligned.buffer).set(buf.subarray(HEADER_BYTES, HEADER_BYTES + dims * 4));
  return aligned;
}

/** The straightforward decoder: aligned copy, then a plain indexed loop into a number[]. */
function decodeRaw(buf: Buffer | null): number[] {
  const aligned = alignedValues(buf);
  const out = new Array<number>(aligned.length);
  for (let i = 0; i < aligned.length; i++) out[i] = aligned[i] ?? 0;
  return out;
}

/**
 * The other obvious way to turn the values into a number[]: Array.from(Float32Array). It gives
 * the same numbers, but V8 runs it through the iterator protocol: about 20x slower than the loop
 * for 1 000 x 1536 values. Shown as a second anchor because it is what @lota/embedding-cache does.
 */
export function decodeRawArrayFrom(buf: Buffer | null): number[] {
  return Array.from(alignedValues(buf));
}

export interface RawPhases {
  keysMs: number;
  mgetMs: number;
  decodeMs: number;
}

export async function rawBatch(env: Env, cache: EmbeddingCache, phases?: RawPhases[], decode: (buf: Buffer | null) => number[] = decodeRaw): Promise<number[][]> {
  const t0 = process.hrtime.bigint();
  const keys = env.texts.map((t) => keyFor(cache, t));
  const t1 = process.hrtime.bigint();
  const bufs = await env.redis.mgetBuffer(...keys);
  const t2 = process.hrtime.bigint();
  const out = bufs.map(decode);
  phases?.push({ keysMs: Number(t1 - t0) / 1e6, mgetMs: Number(t2 - t1) / 1e6, decodeMs: msSince(t2) });
  return out;
}

export async function jsonBatch(env: Env, cache: EmbeddingCache): Promise<number[][]> {
  const keys = env.texts.map((t) => jsonKeyFor(cache, t));
  const values = await env.redis.mget(...keys);
  return values.map((text) => {
    if (text === null) throw new Error('JSON anchor: a key is missing from Redis');
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('JSON anchor: not an array');
    return parsed as number[];
  });
}

/** Stores every vector as JSON text, as LangChain's CacheBackedEmbeddings + a Redis byte store does (same TTL as ours). */
export async function writeJson(env: Env, cache: EmbeddingCache): Promise<void> {
  const pipeline = env.redis.pipeline();
  for (const text of env.texts) pipeline.set(jsonKeyFor(cache, text), JSON.stringify(env.vectors.get(text) ?? vectorOf(text)), 'EX', 86_400);
  await pipeline.exec();
}
