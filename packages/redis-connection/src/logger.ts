/**
 * The logging surface the SDK needs; a pino (or bunyan, or console-shaped) logger fits.
 * Calls are always `(fields, message)`, pino's order.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * Used when no logger is given: warnings and errors go to stderr (an eviction-policy warning
 * must not vanish), debug and info are dropped.
 */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn(fields, message) {
    process.stderr.write(`[lota] WARN ${message} ${JSON.stringify(fields)}\n`);
  },
  error(fields, message) {
    process.stderr.write(`[lota] ERROR ${message} ${JSON.stringify(fields)}\n`);
  },
};

/** Drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
