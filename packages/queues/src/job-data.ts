import { JobValidationError } from './errors.js';

/** Every job belongs to an organization: `orgId` is required, non-empty. */
export interface JobPayload {
  orgId: string;
  [key: string]: unknown;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  return Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * Fails on the first value that would not survive JSON the way the caller expects: BigInt,
 * functions, symbols, NaN/Infinity, `undefined` inside arrays, cycles, and class instances
 * other than Date (a Map or a Set would silently become `{}`).
 */
function assertJson(value: unknown, path: string, queue: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new JobValidationError(queue, path, `is ${describe(value)}, which JSON cannot represent; send null or a finite number`);
      return;
    case 'undefined':
      return;
    case 'object': {
      if (value === null || value instanceof Date) return;
      if (seen.has(value)) throw new JobValidationError(queue, path, 'refers back to itself (a cycle); job data must be a tree');
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item: unknown, i) => {
          if (item === undefined) throw new JobValidationError(queue, `${path}[${i}]`, 'is undefined, which JSON turns into null; remove it or send null');
          assertJson(item, `${path}[${i}]`, queue, seen);
        });
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new JobValidationError(queue, path, `is a ${describe(value)}, which JSON would flatten; send plain objects and arrays`);
        }
        for (const [key, v] of Object.entries(value)) assertJson(v, `${path}.${key}`, queue, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      throw new JobValidationError(queue, path, `is ${describe(value)}, which is not JSON-serialisable`);
  }
}

/** Checks that `value` is a non-empty string; `field` names it in the error. */
export function requireId(queue: string, data: Record<string, unknown>, field: string): string {
  const value = data[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new JobValidationError(queue, `data.${field}`, value === undefined ? 'is missing; it must be a non-empty string' : 'must be a non-empty string');
  }
  return value;
}

/**
 * Validates job data before anything is sent: an object with a non-empty `orgId`, JSON-safe,
 * and at most `maxBytes` once serialised. Returns the serialised size.
 */
export function validateJobData(queue: string, data: unknown, maxBytes: number): number {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new JobValidationError(queue, 'data', 'must be an object with an orgId');
  }
  requireId(queue, data as Record<string, unknown>, 'orgId');
  assertJson(data, 'data', queue, new Set());
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes > maxBytes) {
    throw new JobValidationError(
      queue,
      'data',
      `is ${bytes} bytes once serialised, over the ${maxBytes}-byte limit (maxPayloadBytes); store large content elsewhere and send a reference`,
    );
  }
  return bytes;
}
