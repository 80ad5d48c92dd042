import { createHash, type Hash } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/** Bumped when the key derivation or the stored format changes: old entries are then simply never read. */
export const KEY_VERSION = 'v1';

/*
 * Key derivation
 *
 * `<prefix>:emb:v1:{<2 hex>}:<sha256>`. The hash covers every field that changes the vector:
 *   1. `lota-embedding-v1`   2. the model name   3. the dimensions (decimal, '' when not given)
 *   4. the canonical options ('' when not given)   5. the text
 * each written as `<byte length>:<bytes>`, so no two field lists can produce the same input (a
 * model named `a:b` with text `c` differs from model `a` with text `b:c`). The `{xx}` hash tag
 * spreads keys over 256 Cluster slots: a batch needs at most 256 per-slot lookups, and no single
 * slot gets hot.
 *
 * Bytes of a field: UTF-8 for every well-formed string (what v1 always did). A string holding a
 * lone surrogate (`'\ud800'`) has no UTF-8 form; plain UTF-8 would turn each one into U+FFFD and
 * make `'\ud800'`, `'\udc00'` and `'\ufffd'` one key. Such strings are written as WTF-8 instead
 * (the surrogate's own 3-byte sequence), which is never valid UTF-8: it cannot equal any
 * well-formed string's bytes, and keys of well-formed strings are unchanged.
 *
 * Canonical options (field 4): plain JSON values only, encoded exactly as v1 did:
 *   null, true/false, finite numbers (JSON.stringify: -0 is 0), strings (JSON.stringify),
 *   arrays `[a,b]`, plain objects (prototype Object.prototype or null) `{"k":v}` with keys sorted
 *   by UTF-16 code units and `undefined` properties left out (as JSON does).
 * Everything JSON cannot represent faithfully is refused with `INVALID_ARGUMENT`, naming the path:
 * NaN and ±Infinity (JSON writes `null`), bigint, functions, symbols, `undefined` or a hole in an
 * array, Date, Map, Set, RegExp and other class instances (JSON writes `{}` or a lossy string),
 * symbol keys, and cycles. Two accepted values get the same key only if they are the same JSON.
 */

/** `String.prototype.isWellFormed` (ES2024; Node >= 20), not in the ES2023 lib this package targets. */
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** WTF-8: UTF-8 that also encodes lone surrogates (3 bytes each). Only used for ill-formed strings. */
function wtf8(s: string): Buffer {
  const out = Buffer.allocUnsafe(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    } else {
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 0x3f);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return out.subarray(0, n);
}

function updateField(h: Hash, field: string): void {
  if (isWellFormed(field)) {
    h.update(`${Buffer.byteLength(field)}:`);
    h.update(field);
  } else {
    const bytes = wtf8(field);
    h.update(`${bytes.length}:`);
    h.update(bytes);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const childPath = (path: string, key: string): string => (IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

function refuse(path: string, what: string, fix: string): never {
  throw new InvalidArgumentError(
    `@lota/embedding-cache: ${path} is ${what}; option values are part of the cache key and must be plain JSON (null, boolean, finite number, string, array, plain object). ${fix}`,
  );
}

function describeObject(value: object): string {
  const ctor = (value as { constructor?: unknown }).constructor;
  const name = typeof ctor === 'function' && ctor.name ? ctor.name : Object.prototype.toString.call(value).slice(8, -1);
  return `a ${name}`;
}

const FIXES: Record<string, string> = {
  Date: 'Pass date.toISOString() instead.',
  Map: 'Pass Object.fromEntries(map) instead.',
  Set: 'Pass [...set] instead.',
};

function canonical(value: unknown, path: string, ancestors: unknown[]): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) refuse(path, String(value), 'JSON would write null; leave it out or pass a string.');
      return JSON.stringify(value);
    case 'bigint':
      return refuse(path, 'a bigint', 'Pass it as a string or a number.');
    case 'undefined':
      return refuse(path, 'undefined inside an array', 'JSON would write null; pass null or leave the element out.');
    case 'function':
    case 'symbol':
      return refuse(path, `a ${typeof value}`, 'Leave it out.');
    default:
      break;
  }
  if (value === null) return 'null';
  if (ancestors.includes(value)) refuse(path, 'a cycle (an object containing itself)', 'Pass an acyclic copy.');
  ancestors.push(value);
  let out: string;
  if (Array.isArray(value)) {
    const parts = new Array<string>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) refuse(`${path}[${i}]`, 'a hole in an array', 'Pass null or leave the element out.');
      parts[i] = canonical(value[i], `${path}[${i}]`, ancestors);
    }
    out = `[${parts.join(',')}]`;
  } else {
    const obj = value as Record<string, unknown>;
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const what = describeObject(obj);
      refuse(path, what, FIXES[what.slice(2)] ?? 'Pass a plain object with the same data.');
    }
    const symbols = Object.getOwnPropertySymbols(obj).filter((s) => Object.prototype.propertyIsEnumerable.call(obj, s));
    if (symbols.length > 0) refuse(path, `an object with a symbol key (${String(symbols[0])})`, 'Use string keys.');
    const entries = Object.entries(obj)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    out = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v, childPath(path, k), ancestors)}`).join(',')}}`;
  }
  ancestors.pop();
  return out;
}

/**
 * Everything of a key but the text, hashed once: `keyOf(text)` then hashes only the text. Built
 * once per `embedMany` (one options validation per batch, not per text). Throws
 * `INVALID_ARGUMENT` for options that are not plain JSON (see the top of this file).
 */
export class KeyScope {
  /** Identifies model + dimensions + options (everything but the text): what a vector's length depends on. */
  readonly family: string;
  private readonly base: Hash;

  /** `label` names the options in errors: `options` or `provider.options`. */
  constructor(
    private readonly prefix: string,
    model: string,
    dimensions: number | undefined,
    options: Record<string, unknown> | undefined,
    label = 'options',
  ) {
    const dims = dimensions === undefined ? '' : String(dimensions);
    const opts = options === undefined ? '' : canonical(options, label, []);
    this.family = `${model.length}:${model}:${dims}:${opts}`;
    this.base = createHash('sha256');
    for (const field of [`lota-embedding-${KEY_VERSION}`, model, dims, opts]) updateField(this.base, field);
  }

  keyOf(text: string): string {
    const h = this.base.copy();
    updateField(h, text);
    const hex = h.digest('hex');
    return `${this.prefix}:emb:${KEY_VERSION}:{${hex.slice(0, 2)}}:${hex}`;
  }
}

/** The key of one text (see the top of this file). Throws `INVALID_ARGUMENT` for options that are not plain JSON. */
export function cacheKey(prefix: string, model: string, text: string, dimensions?: number, options?: Record<string, unknown>): string {
  const h = createHash('sha256');
  for (const field of [`lota-embedding-${KEY_VERSION}`, model, dimensions === undefined ? '' : String(dimensions), options === undefined ? '' : canonical(options, 'options', []), text]) {
    updateField(h, field);
  }
  const hex = h.digest('hex');
  return `${prefix}:emb:${KEY_VERSION}:{${hex.slice(0, 2)}}:${hex}`;
}
