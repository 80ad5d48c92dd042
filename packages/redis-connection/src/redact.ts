/**
 * Best-effort masking of credentials in free text (a log line, a message from elsewhere), for
 * text this package did not build itself. The package's own messages never contain raw
 * connection input in the first place; this is for callers who have a URL in hand.
 *
 * It errs on masking too much: everything between `scheme://` and the LAST `@` of that line is
 * replaced (a password may contain `@`, `:`, `/`, `#`, `?` or spaces), so does `user:pass@`
 * without a scheme inside one whitespace-free token, and the value of `password=`-style query
 * parameters. A password with spaces and no `scheme://` in front of it cannot be told apart
 * from prose and is not masked.
 */
export function redactUrl(text: string): string {
  return text
    .split('\n')
    .map((line) => maskSchemeCredentials(maskTokenCredentials(maskQuerySecrets(line))))
    .join('\n');
}

/** Query / fragment parameters that carry credentials in connection strings. */
const QUERY_SECRET = /([?&;#]\s*)(password|passwd|pass|pwd|secret|token|auth|sentinelPassword)=([^&#\s]*)/gi;

/** `scheme://`: the start of a URL, and of its credentials. */
const SCHEME = /\b[a-z][a-z0-9+.-]*:\/\//i;

/** `user:pass@host` without a scheme, within one whitespace-free token that is not a `scheme://` URL. */
const TOKEN_CREDENTIALS = /(^|[\s"'(,<=[])(?![^\s"']*:\/\/)[^\s"'(),<>=[\]@/:]+:[^\s"']*@/g;

function maskQuerySecrets(line: string): string {
  return line.replace(QUERY_SECRET, '$1$2=***');
}

function maskTokenCredentials(line: string): string {
  return line.replace(TOKEN_CREDENTIALS, '$1***@');
}

/** From the first `scheme://`, everything up to the last `@` of the line is credentials (or may be). */
function maskSchemeCredentials(line: string): string {
  const m = SCHEME.exec(line);
  if (!m) return line;
  const start = m.index + m[0].length;
  const lastAt = line.lastIndexOf('@');
  if (lastAt < start) return line;
  const masked = line.slice(start, lastAt);
  if (masked === '***') return line;
  return `${line.slice(0, start)}***${line.slice(lastAt)}`;
}

/** Shortest secret masked by {@link secretRedactor}: masking 1-3 characters everywhere would garble every message. */
const MIN_SECRET_LENGTH = 4;

/**
 * Masks the given secrets (configured passwords) wherever they appear in a text, in the forms
 * they take in URLs, JSON and logs. A second layer under "never echo raw input": used on every
 * message from ioredis or Node that the manager passes on.
 */
export function secretRedactor(secrets: ReadonlyArray<string | undefined>): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s === undefined || s.length < MIN_SECRET_LENGTH) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(JSON.stringify(s).slice(1, -1));
    try {
      const u = new URL('redis://host');
      u.password = s;
      forms.add(u.password);
    } catch {
      // Not representable in a URL: the raw form above is enough.
    }
  }
  const needles = [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join('***');
    return out;
  };
}
