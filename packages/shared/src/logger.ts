/** The logging surface the packages need; a pino (or bunyan, or console-shaped) logger fits. Calls are `(fields, message)`, pino's order. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What an option check says about a value that is not a {@link Logger}. */
export const NOT_A_LOGGER = 'must be a logger with debug, info, warn and error functions';

/** Whether `value` has the four functions of a {@link Logger}. */
export function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && ['debug', 'info', 'warn', 'error'].every((k) => typeof (value as Record<string, unknown>)[k] === 'function');
}

/**
 * The logger used when none is given: warnings and errors go to stderr tagged with `source`
 * (an eviction-policy warning must not vanish), debug and info are dropped.
 */
export function createStderrLogger(source: string): Logger {
  const write = (level: string, fields: Record<string, unknown>, message: string): void => {
    process.stderr.write(`[${source}] ${level} ${message} ${JSON.stringify(fields)}\n`);
  };
  return {
    debug() {},
    info() {},
    warn: (fields, message) => write('WARN', fields, message),
    error: (fields, message) => write('ERROR', fields, message),
  };
}

/** Drops everything. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});
