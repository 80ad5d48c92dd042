/**
 * Joins key parts so that distinct tuples can never produce the same key: each part is
 * percent-encoded (so it contains no ':'), then the parts are joined with ':'. The encoding is
 * injective, so `('a:b', 'c')` -> `a%3Ab:c` and `('a', 'b:c')` -> `a:b%3Ac` differ. Readable in
 * redis-cli, which a hash or length prefix would not be.
 */
export function encodeKeyParts(parts: readonly string[]): string {
  return parts.map((p) => encodeURIComponent(p)).join(':');
}
