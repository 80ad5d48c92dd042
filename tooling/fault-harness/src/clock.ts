/**
 * The harness clock: microseconds of the system's monotonic clock (`process.hrtime`, which is
 * CLOCK_MONOTONIC on Linux and the mach absolute clock on macOS). It is one clock for every
 * process on the machine, so events recorded by different processes (a lock section in one
 * worker, the next holder's section in another, the driver's SIGSTOP) compare directly,
 * without the skew of wall clocks and without asking Redis (which a fault may have stopped).
 * The absolute value means nothing across machines or reboots.
 */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Milliseconds between two clock readings. */
export function elapsedMs(fromUs: number, toUs: number): number {
  return (toUs - fromUs) / 1000;
}
