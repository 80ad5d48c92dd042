import type { Logger } from '@lota/shared';
import { LockLostError } from './errors.js';
import type { ScopeKeys } from './keys.js';

/** Clock drift allowance (Redlock): 1% of the lease plus 2 ms. */
export const drift = (ttlMs: number): number => Math.floor(ttlMs * 0.01) + 2;

/** A lock this process holds on one scope. */
export interface Lease {
  scope: string;
  keys: ScopeKeys;
  token: string;
  fencingToken: number;
  /** performance.now() after which the lease must be presumed gone. */
  validUntil: number;
}

/** How one extension of a lease ended on the masters. */
export type ExtendOutcome = 'extended' | 'refused' | 'unreachable';

/** A held lease being kept (see {@link keepLease}). */
export interface KeptLease {
  /** Aborts (with {@link LockLostError}) the moment the lease is lost. */
  readonly signal: AbortSignal;
  /** Stops keeping the lease (its holder is done); returns why it was lost, if it was. */
  stop(): string | undefined;
}

/**
 * Keeps `lease` while its holder runs: extends it to `ttlMs` every `ttlMs / 3` (with
 * `autoExtend`), and declares it lost when an extension is refused or the lease runs out
 * locally first (Redis unreachable, a stalled process). `lease.validUntil` follows each
 * extension. Call `stop()` when the holder is done.
 */
export function keepLease(lease: Lease, ttlMs: number, autoExtend: boolean, extend: () => Promise<ExtendOutcome>, logger: Logger): KeptLease {
  const controller = new AbortController();
  let lost: string | undefined;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const lose = (reason: string): void => {
    if (lost !== undefined || done) return;
    lost = reason;
    clearTimeout(timer);
    controller.abort(new LockLostError(lease.scope, lease.fencingToken, reason));
    logger.warn({ scope: lease.scope, fencingToken: lease.fencingToken, reason }, 'lock lost while its holder was running');
  };
  const extendEvery = Math.max(1, Math.floor(ttlMs / 3));
  // One timer per holder: it fires for the next extension, or when the lease runs out locally,
  // whichever is first. A timer that fires late (a stalled event loop) finds the lease gone.
  const schedule = (extendIn: number): void => {
    const untilExpiry = Math.max(0, lease.validUntil - performance.now());
    timer = setTimeout(() => void tick(), autoExtend ? Math.min(extendIn, untilExpiry) : untilExpiry);
  };
  const tick = async (): Promise<void> => {
    if (done || lost !== undefined) return;
    if (performance.now() >= lease.validUntil) {
      lose(
        autoExtend
          ? 'the lease ran out before it could be extended (Redis unreachable, or the process stalled)'
          : `the lease ran out (${ttlMs} ms, autoExtend off)`,
      );
      return;
    }
    if (!autoExtend) {
      schedule(0); // woke a hair early: wait out the rest of the lease
      return;
    }
    const start = performance.now();
    const outcome = await extend();
    if (done || lost !== undefined) return;
    if (outcome === 'extended') {
      lease.validUntil = start + ttlMs - drift(ttlMs);
      schedule(extendEvery);
    } else if (outcome === 'refused') {
      lose('Redis no longer holds it for us (it expired, was deleted, or Redis restarted without the key)');
    } else {
      schedule(Math.min(extendEvery, 250)); // Redis did not answer: try again soon; expiry decides
    }
  };
  // The first lease is short (GHOST_GRACE_MS, or a grant's cap): extend to the full lease early.
  schedule(Math.min(extendEvery, Math.max(0, (lease.validUntil - performance.now()) / 3)));

  return {
    signal: controller.signal,
    stop: () => {
      done = true;
      clearTimeout(timer);
      return lost;
    },
  };
}
