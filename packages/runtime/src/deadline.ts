/**
 * Waits for `promise` at most `ms`: resolves `true` when it settled (either way) in time, `false`
 * when the time ran out. Never rejects. The timer is NOT unref()'d: while `disconnect()` awaits
 * it, it must keep the process alive (otherwise Node exits mid-shutdown when nothing else holds
 * the event loop), and it is cleared as soon as the race is decided, so it leaves no handle.
 */
export function settleWithin(promise: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!promise) return Promise.resolve(true);
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
