import type { Logger } from '@lota/runtime';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A pino-shaped logger writing one JSON line per entry to stderr (stdout carries the worker's
 * messages to the driver). The driver keeps these lines in results/latest-workers.log and
 * counts them by level and message.
 */
export function jsonLogger(base: Record<string, unknown>, min: Level = 'info'): Logger {
  const at =
    (level: Level) =>
    (fields: Record<string, unknown>, msg: string): void => {
      if (RANK[level] < RANK[min]) return;
      process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), ...base, ...fields, msg })}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
