import type { Logger } from '@lota/runtime';
import type { LogLevel } from './config.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A pino-compatible logger (`logger.info(fields, message)`) writing one JSON line per entry to stderr. */
export interface HostLogger extends Logger {
  child(fields: Record<string, unknown>): HostLogger;
}

/** JSON lines on stderr (stdout stays free for a program's own output), at `level` and above. */
export function createLogger(name: string, level: LogLevel, base: Record<string, unknown> = {}): HostLogger {
  const min = RANK[level];
  const at =
    (lvl: LogLevel) =>
    (fields: Record<string, unknown>, message?: string): void => {
      if (RANK[lvl] < min) return;
      const line = { level: lvl, time: new Date().toISOString(), name, ...base, ...fields, msg: message ?? '' };
      process.stderr.write(`${JSON.stringify(line)}\n`);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => createLogger(name, level, { ...base, ...fields }),
  };
}
