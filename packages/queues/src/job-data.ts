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
 * functions, symbols (as values or as keys, which JSON drops), NaN/Infinity, invalid Dates
 * (JSON writes `null`), `undefined` and holes inside arrays (JSON writes `null`), properties
 * on arrays (dropped), cycles, and class instances other than Date (a Map or a Set would
 * silently become `{}`).
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
      if (value === null) return;
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new JobValidationError(queue, path, 'is an invalid Date, which JSON turns into null; send a valid Date or null');
        return;
      }
      if (seen.has(value)) throw new JobValidationError(queue, path, 'refers back to itself (a cycle); job data must be a tree');
      seen.add(value);
      const symbolKey = Object.getOwnPropertySymbols(value)[0];
      if (symbolKey !== undefined) {
        throw new JobValidationError(queue, `${path}[${String(symbolKey)}]`, 'is a symbol key, which JSON drops; use a string key');
      }
      if (Array.isArray(value)) {
        // An index loop, not forEach: forEach skips the holes of a sparse array.
        for (let i = 0; i < value.length; i++) {
          if (!Object.hasOwn(value, i)) throw new JobValidationError(queue, `${path}[${i}]`, 'is a hole in a sparse array, which JSON turns into null; fill it or send null');
          const item: unknown = value[i];
          if (item === undefined) throw new JobValidationError(queue, `${path}[${i}]`, 'is undefined, which JSON turns into null; remove it or send null');
          assertJson(item, `${path}[${i}]`, queue, seen);
        }
        const extra = Object.keys(value).find((k) => !/^(0|[1-9]\d*)$/.test(k));
        if (extra !== undefined) throw new JobValidationError(queue, `${path}.${extra}`, 'is a property on an array, which JSON drops; use an object');
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

/** Checks that `data` is a plain-object payload (not null, undefined, an array or a primitive). */
export function requireObject(queue: string, data: unknown): asserts data is Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new JobValidationError(queue, 'data', `must be an object with an orgId, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : describe(data)}`);
  }
}

/** Checks that `data[field]` is a non-empty string; `field` names it in the error. */
export function requireId(queue: string, data: unknown, field: string): string {
  requireObject(queue, data);
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
  requireId(queue, data, 'orgId');
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
