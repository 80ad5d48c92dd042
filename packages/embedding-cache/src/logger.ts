/** The logging surface the package needs; a pino logger fits. Calls are `(fields, message)`. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Default: warnings and errors to stderr, the rest dropped. */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn(fields, message) {
    process.stderr.write(`[lota:embedding-cache] WARN ${message} ${JSON.stringify(fields)}\n`);
  },
  error(fields, message) {
    process.stderr.write(`[lota:embedding-cache] ERROR ${message} ${JSON.stringify(fields)}\n`);
  },
};
