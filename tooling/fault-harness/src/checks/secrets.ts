import type { Violation } from './violation.js';

/** The forms in which a secret could leak: as given, percent-encoded, and base64 (as in an AUTH dump). */
function forms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])];
}

/**
 * No password or token from the config appears in any output: log lines, error messages and
 * stacks the processes printed (their whole stdout and stderr, history included).
 */
export function checkNoSecrets(texts: ReadonlyArray<{ source: string; text: string }>, secrets: readonly string[]): Violation[] {
  const violations: Violation[] = [];
  const needles = secrets.filter((s) => s.length >= 4).flatMap((s) => forms(s).map((form) => ({ secret: s, form })));
  for (const { source, text } of texts) {
    for (const { secret, form } of needles) {
      const at = text.indexOf(form);
      if (at < 0) continue;
      const masked = `${secret.slice(0, 2)}…`;
      violations.push({ check: 'secrets', message: `${source}: the secret ${masked} appears${form === secret ? '' : ' (encoded)'} at offset ${at}` });
    }
  }
  return violations;
}
