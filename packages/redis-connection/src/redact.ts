/**
 * Replaces the password in anything URL-shaped with `***`, so a URL can be echoed in an error
 * or a log line. Works on malformed input too (it is a text substitution, not a parse).
 */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@\s]*)@/gi, '$1$2:***@');
}
