import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Pause between attempts. @defaultValue 20 */
  intervalMs?: number;
  /** What is being waited for; it goes into the timeout error. */
  description?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`, `null` or `false`, or throws
 * once the deadline passes. A probe that throws counts as "not yet"; its last error is kept as
 * the timeout error's cause. This is the only way tests wait: never a fixed sleep.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const { timeoutMs = 10_000, intervalMs = 20, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, undefined | null | false>;
      }
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

/** Resolves with the arguments of the next `event`, or rejects after `timeoutMs`. */
export function nextEvent(emitter: EventEmitter, event: string, timeoutMs = 10_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for event '${event}'`));
    }, timeoutMs);
    function onEvent(...args: unknown[]): void {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, onEvent);
  });
}
