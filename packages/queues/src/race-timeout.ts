/**
 * Races `promise` against a timer of `ms`. The timer is not unref()'d: whoever awaits the race
 * must get its answer even when nothing else keeps the process alive. It is cleared as soon as
 * the race is decided.
 */
export function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then((value) => ({ done: true as const, value })),
    new Promise<{ done: false }>((resolve) => {
      timer = setTimeout(() => resolve({ done: false }), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}
