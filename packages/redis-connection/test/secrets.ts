import { inspect } from 'node:util';
import { createRng } from '@lota/fault-harness';
import { expect } from 'vitest';

/**
 * A generated secret: random marker tokens joined by the characters that break naive URL
 * redaction. A leak of any marker (even a fragment of the password after an `@`) is a failure.
 */
export interface Secret {
  value: string;
  markers: string[];
}

/** Characters that end or confuse a URL's userinfo, plus percent-encoded and unicode forms. */
/** Marker characters (ASCII: no look-alikes of the separators). */
const MARKER_CHARS = 'abcdefghijkmnopqrstuvwxyz23456789'.split('');

const SEPARATORS = ['@', ':', '/', '#', '?', ' ', '%', '%40', '%3A', '%2F', '%', '&', '=', '[', ']', '\\', '"', "'", '+', ';', ',', 'é', '密', '🔑', '\t', '@@', '://'];

/** Deterministic (a seeded PRNG), so a failing secret can be reproduced from its seed. */
export function generateSecrets(count: number, seed = 20_240_611): Secret[] {
  const rng = createRng(seed);
  const rnd = (): number => rng.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const marker = (): string => `zq${Array.from({ length: 7 }, () => pick(MARKER_CHARS)).join('')}`;
  const secrets: Secret[] = [];
  for (let i = 0; i < count; i++) {
    const markers = Array.from({ length: 1 + Math.floor(rnd() * 3) }, marker);
    let value = '';
    if (rnd() < 0.3) value += pick(SEPARATORS);
    markers.forEach((m, j) => {
      value += m;
      if (j < markers.length - 1 || rnd() < 0.3) value += pick(SEPARATORS) + (rnd() < 0.3 ? pick(SEPARATORS) : '');
    });
    secrets.push({ value, markers });
  }
  return secrets;
}

/** Every way an error reaches a log or a screen. */
export function errorSurfaces(err: unknown): string[] {
  const e = err as Error & { cause?: unknown };
  return [
    String(err),
    e.message ?? '',
    e.stack ?? '',
    JSON.stringify(err) ?? '',
    inspect(err, { depth: 8 }),
    inspect(err, { depth: 8, showHidden: true }),
    e.cause === undefined ? '' : inspect(e.cause, { depth: 8, showHidden: true }),
  ];
}

/** Asserts no surface contains the secret, its percent-encoded form, or any of its markers. */
export function expectNoSecret(texts: string[], secret: Secret, context: string): void {
  const needles = [secret.value, encodeURIComponent(secret.value), ...secret.markers].filter((n) => n.length >= 4);
  for (const text of texts) {
    for (const needle of needles) {
      if (text.includes(needle)) {
        expect.fail(`${context}: leaked ${JSON.stringify(needle)} of secret ${JSON.stringify(secret.value)} in:\n${text}`);
      }
    }
  }
}

/** The five leaks the review found, verbatim, with the part that must never be printed. */
export const REVIEWED_LEAKS: Array<{ input: Record<string, unknown>; secret: Secret }> = [
  { input: { url: 'redis://app:p@ss-w0rd@host:6379/x' }, secret: { value: 'p@ss-w0rd', markers: ['ss-w0rd', 'p@ss'] } },
  { input: { url: 'redis://app:my secret@host:99999' }, secret: { value: 'my secret', markers: ['my secret', 'my%20secret', 'y secr'] } },
  { input: { cluster: { nodes: ['default:S3cretPw@10.0.0.5:6379x'] } }, secret: { value: 'S3cretPw', markers: ['S3cretPw'] } },
  { input: { sentinel: { sentinels: ['admin:Sent1nelPw@10.0.0.9'], name: 'main' } }, secret: { value: 'Sent1nelPw', markers: ['Sent1nelPw'] } },
  { input: { url: 'redis://host:6379/0?password=hunter3' }, secret: { value: 'hunter3', markers: ['hunter3'] } },
];
