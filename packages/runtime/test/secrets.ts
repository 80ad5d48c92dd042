import { inspect } from 'node:util';
import { createRng } from '@lota/fault-harness';
import { expect } from 'vitest';

/** A generated secret: random marker tokens joined by characters that break naive URL redaction. */
export interface Secret {
  value: string;
  markers: string[];
}

/** Marker characters (ASCII: no look-alikes of the separators). */
const MARKER_CHARS = 'abcdefghijkmnopqrstuvwxyz23456789'.split('');

const SEPARATORS = ['@', ':', '/', '#', '?', ' ', '%', '%40', '%2F', '&', '=', '[', ']', '"', '+', 'é', '密', '🔑', '@@', '://'];

/** Deterministic (seeded), so a failing secret can be reproduced. */
export function generateSecrets(count: number, seed = 4_242): Secret[] {
  const rng = createRng(seed);
  const rnd = (): number => rng.next();
  const pick = <T>(xs: readonly T[]): T => rng.pick(xs);
  const marker = (): string => `zq${Array.from({ length: 7 }, () => pick(MARKER_CHARS)).join('')}`;
  return Array.from({ length: count }, () => {
    const markers = Array.from({ length: 1 + Math.floor(rnd() * 3) }, marker);
    const value = markers.map((m, i) => (i === 0 && rnd() < 0.3 ? pick(SEPARATORS) : '') + m).join(pick(SEPARATORS)) + (rnd() < 0.3 ? pick(SEPARATORS) : '');
    return { value, markers };
  });
}

/** Every way an error reaches a log or a screen. */
export function errorSurfaces(err: unknown): string[] {
  const e = err as Error & { cause?: unknown };
  return [String(err), e.message ?? '', e.stack ?? '', JSON.stringify(err) ?? '', inspect(err, { depth: 8, showHidden: true })];
}

export function expectNoSecret(texts: string[], secret: Secret, context: string): void {
  for (const text of texts) {
    for (const needle of [secret.value, encodeURIComponent(secret.value), ...secret.markers]) {
      if (needle.length >= 4 && text.includes(needle)) expect.fail(`${context}: leaked ${JSON.stringify(needle)} of ${JSON.stringify(secret.value)} in:\n${text}`);
    }
  }
}
