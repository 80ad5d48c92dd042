/**
 * Timers a caller awaits. None of them is unref()'d: while someone awaits a bounded call, its
 * timer must keep the process alive, or Node exits mid-call when nothing else holds the event
 * loop (code 13 for an unsettled top-level await) and the code after the `await` never runs.
 * Every timer is cleared as soon as the race is decided, so a settled call leaves no handle.
 */

/** Settles with `promise`, or rejects with `onTimeout()` once `ms` pass. */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms));
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Waits for `promise` at most `ms`: resolves `true` when it settled (either way) in time,
 * `false` when the time ran out. Never rejects.
 */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promise.then(
    () => true,
    () => true,
  );
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms` (at once when `ms <= 0`). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) resolve();
    else setTimeout(resolve, ms);
  });
}
