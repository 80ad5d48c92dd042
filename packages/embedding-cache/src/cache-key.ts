import { createHash } from 'node:crypto';

/** Bumped when the key derivation or the stored format changes: old entries are then simply never read. */
export const KEY_VERSION = 'v1';

function canonical(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? '';
}

/**
 * `<prefix>:emb:v1:{<2 hex>}:<sha256>`. The hash covers every field that changes the vector,
 * each length-prefixed so no two field lists can produce the same input (a model named `a:b`
 * with text `c` differs from model `a` with text `b:c`). The `{xx}` hash tag spreads keys over
 * 256 Cluster slots: a batch needs at most 256 per-slot lookups, and no single slot gets hot.
 */
export function cacheKey(prefix: string, model: string, text: string, dimensions?: number, options?: Record<string, unknown>): string {
  const h = createHash('sha256');
  for (const field of [`lota-embedding-${KEY_VERSION}`, model, dimensions === undefined ? '' : String(dimensions), canonical(options), text]) {
    h.update(`${Buffer.byteLength(field)}:`);
    h.update(field);
  }
  const hex = h.digest('hex');
  return `${prefix}:emb:${KEY_VERSION}:{${hex.slice(0, 2)}}:${hex}`;
}
