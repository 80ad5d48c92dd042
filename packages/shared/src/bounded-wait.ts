/**
 * Waits a caller awaits, each bounded by a timer.
 *
 * No timer here is unref()'d: while someone awaits a bounded call, its timer must keep the
 * process alive, or Node exits mid-call when nothing else holds the event loop (code 13 for an
 * unsettled top-level await) and the code after the `await` never runs. Every timer is cleared
 * as soon as the race is decided, so a settled call leaves no handle behind.
 */

/** How {@link raceTimeout} ends: the promise's value in time, or the time ran out. */
export type RaceOutcome<T> = { done: true; value: T } | { done: false };

export interface RaceTimeoutOptions {
  /**
   * When the timer fires, give the event loop one I/O turn before calling it a timeout: after a
   * busy loop (a long synchronous task) the reply may already sit in the socket, unread.
   */
  ioTurnFirst?: boolean;
}

/**
 * Races `promise` against `ms`: `{ done: true, value }` when it resolved in time, `{ done: false }`
 * when the time ran out. A rejection in time rejects. `promise` is not cancelled.
 */
export function raceTimeout<T>(promise: Promise<T>, ms: number, options: RaceTimeoutOptions = {}): Promise<RaceOutcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ done: false }>((resolve) => {
    const fire = (): void => resolve({ done: false });
    timer = setTimeout(options.ioTurnFirst === true ? () => setImmediate(fire) : fire, Math.max(0, ms));
  });
  return Promise.race([promise.then((value) => ({ done: true as const, value })), expired]).finally(() => clearTimeout(timer));
}

/** Settles with `promise`, or rejects with `onTimeout()` once `ms` pass. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  const outcome = await raceTimeout(promise, ms);
  if (!outcome.done) throw onTimeout();
  return outcome.value;
}

/**
 * Waits for `promise` at most `ms`: `true` when it settled (either way) in time, `false` when
 * the time ran out. Never rejects. No promise counts as settled.
 */
export async function settleWithin(promise: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!promise) return true;
  const settled = promise.then(
    () => undefined,
    () => undefined,
  );
  return (await raceTimeout(settled, ms)).done;
}

/** Resolves after `ms` (at once when `ms <= 0`). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) resolve();
    else setTimeout(resolve, ms);
  });
}
