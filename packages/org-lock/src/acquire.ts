import { LockTimeoutError, RedisUnreachableError } from './errors.js';
import { abortReason } from './abort-reason.js';
import type { ScopeKeys } from './keys.js';
import { drift, type Lease } from './lease.js';
import { ENTRY_TTL_MS, type Attempt, type Masters } from './masters.js';
import type { ResolvedLockOptions } from './options.js';
import type { ReleaseListener } from './release-listener.js';
import type { Turn } from './scope-queue.js';

/** A waiting contender asks again at least this often, which also keeps its queue entry alive. */
const REFRESH_MS = 1_000;
/** Shortest pause between attempts when Redis does not answer. */
const ERROR_BACKOFF_MS = 25;
/**
 * While the release subscription is not up (still connecting, or refused), a waiter asks Redis
 * this often instead of waiting for a message it would not hear.
 */
const POLL_UNSUBSCRIBED_MS = 100;
/**
 * An acquire sets the lease to at most this (or twice the request timeout, if longer) and the
 * holder extends it to its full length soon after. An acquire that reaches Redis after its caller
 * gave up (a timed-out request, a Cluster redirection re-sent late) then holds the scope for this
 * long at most, instead of a whole lease nobody uses. Same bound as a dead waiter's queue entry.
 */
const GHOST_GRACE_MS = ENTRY_TTL_MS;

/**
 * Takes the lock on the masters for the head of this process's queue: asks, then waits for a
 * release or grant message (or the holder's lease to run out) and asks again, until it holds
 * the lock, the deadline passes (`LockTimeoutError`, `RedisUnreachableError`) or the signal aborts.
 */
export class Acquirer {
  private readonly graceMs: number;

  constructor(
    private readonly masters: Masters,
    private readonly listener: ReleaseListener,
    private readonly opts: ResolvedLockOptions,
  ) {
    this.graceMs = Math.max(GHOST_GRACE_MS, 2 * this.opts.requestTimeoutMs);
  }

  /** First lease of an acquisition (see GHOST_GRACE_MS); without autoExtend nobody would extend it, so it is the whole lease. */
  private firstLease(ttlMs: number): number {
    return this.opts.autoExtend ? Math.min(ttlMs, this.graceMs) : ttlMs;
  }

  /** Takes the lock on `scope` for `turn`; the lease it returns had time left when Redis answered. */
  async acquire(scope: string, keys: ScopeKeys, turn: Turn, deadline: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Lease> {
    const { token, ttlMs } = turn;
    const firstLease = this.firstLease(ttlMs);
    let woken: boolean;
    let granted: boolean;
    let wakeSleeper: (() => void) | undefined;
    // Registered before the first attempt: a release that lands between a failed attempt and
    // the wait still wakes us. A grant message only says "ask now": it may be stale (its lease
    // may have run out while this process stalled), so the lock is taken on Redis' word alone.
    const unlisten = this.listener.listen(keys.tag, () => {
      woken = true;
      wakeSleeper?.();
    });
    const ungrant = this.listener.awaitGrant(token, () => {
      granted = true;
      wakeSleeper?.();
    });
    // Queued by the previous local holder's release: Redis already knows us; wait for our turn.
    let last: Attempt | undefined = turn.queuedAt === undefined ? undefined : { kind: 'held', pttl: -2 };
    // Redis' latest answer: what the error says if the time runs out (an attempt cut short by the
    // deadline says nothing about the lock).
    let answered: Attempt | undefined = last;
    // Send time of the newest request Redis answered "held" (or queued us): releases heard later count.
    let askedAt = turn.queuedAt ?? 0;
    let errorBackoff = ERROR_BACKOFF_MS;
    let acquired = false;
    const firstTry = performance.now();
    try {
      for (;;) {
        signal?.throwIfAborted();
        woken = false;
        granted = false;
        if (last === undefined) {
          const start = performance.now();
          // Waits for the reply until the deadline (at least one request timeout, so that
          // acquireTimeoutMs 0 still means "one try"), and never past the caller's signal. An
          // attempt abandoned here is undone by the leave sent behind it (see finally).
          const budget = Math.max(deadline, firstTry + this.opts.requestTimeoutMs) - start;
          // Each request is bounded by requestTimeoutMs anyway: race only when the deadline or a
          // signal may come first (the common call pays no extra timer).
          const race = signal !== undefined || budget < 2 * this.opts.requestTimeoutMs;
          const attempt = budget > 0 ? this.masters.attempt(keys, token, firstLease) : undefined;
          const answer = attempt && race ? await this.settle(attempt, budget, signal) : await attempt;
          if (answer === undefined) break; // out of time
          last = answered = answer;
          if (last.kind === 'acquired') {
            const validUntil = start + Math.min(firstLease, last.pttl) - drift(firstLease);
            if (performance.now() < validUntil) {
              acquired = true;
              return { scope, keys, token, fencingToken: last.fencingToken, validUntil };
            }
            // Acquiring took longer than the lease: it may have expired already. Never hand it out.
            void this.masters.release(keys, token);
            last = undefined;
            continue;
          }
          if (last.kind === 'held') askedAt = start;
        }
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        // Never waits for the subscription: it comes up in the background (and wakes us then).
        this.listener.ensureSubscribed();
        const subscribed = this.listener.subscribedAt !== undefined;
        let pause: number;
        if (last.kind === 'unreachable') {
          pause = errorBackoff;
          errorBackoff = Math.min(errorBackoff * 2, REFRESH_MS);
        } else {
          errorBackoff = ERROR_BACKOFF_MS;
          // Held: wake on a grant or a release, else when the lease runs out (a crashed holder),
          // and at least every REFRESH_MS (which keeps our queue entry alive); poll while deaf.
          pause = last.pttl > 0 ? Math.min(last.pttl + 1, REFRESH_MS) : REFRESH_MS;
          if (!subscribed) pause = Math.min(pause, POLL_UNSUBSCRIBED_MS);
          if (this.masters.clients.length > 1) pause = Math.min(pause, 10 + Math.random() * 40); // Redlock: retry with jitter
        }
        // A release we have not reacted to yet (heard before we listened, or while the attempt was in flight)?
        if (!granted && !woken && this.listener.lastReleaseAt(keys.tag) <= askedAt) {
          await this.sleep(Math.min(pause, remaining), signal, (wake) => (wakeSleeper = wake));
        }
        wakeSleeper = undefined;
        turn.queuedAt = undefined;
        last = undefined;
      }
    } finally {
      unlisten();
      ungrant();
      if (!acquired) void this.masters.leave(keys, token);
    }
    const outcome = answered ?? { kind: 'unreachable', reasons: [`no reply within ${Math.round(performance.now() - firstTry)} ms`] };
    if (outcome.kind === 'unreachable') {
      throw new RedisUnreachableError(
        `@lota/org-lock: could not acquire '${scope}': ${this.masters.clients.length > 1 ? `fewer than ${this.masters.quorum} of ${this.masters.clients.length} Redis masters answered` : 'Redis did not answer'} within acquireTimeoutMs (${timeoutMs} ms): ${outcome.reasons.join('; ')}. fn did not run.`,
        { scope },
      );
    }
    throw new LockTimeoutError(scope, timeoutMs);
  }

  /** `attempt`'s answer, or undefined when `ms` pass first; rejects with the signal's reason if it aborts first. */
  private settle(attempt: Promise<Attempt>, ms: number, signal: AbortSignal | undefined): Promise<Attempt | undefined> {
    return new Promise<Attempt | undefined>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(abortReason(signal));
      };
      const timer = setTimeout(() => {
        done();
        resolve(undefined);
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      attempt.then(
        (value) => {
          done();
          resolve(value);
        },
        (err: unknown) => {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private sleep(ms: number, signal: AbortSignal | undefined, expose: (wake: () => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      expose(finish);
    });
  }
}
