/**
 * The public lock: `withLock` and the hand-off between callers in this process. Beside it: the
 * masters, bounded calls and quorum counting (`masters.ts`), the script commands (`commands.ts`,
 * `scripts.ts`), taking the lock (`acquire.ts`), keeping the lease (`lease.ts`), the in-process
 * queue (`scope-queue.ts`) and the release messages (`release-listener.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { abortReason } from './abort-reason.js';
import { Acquirer } from './acquire.js';
import { InvalidArgumentError, LockClosedError, LockLostError } from './errors.js';
import { keysForTag, releaseChannel, scopeKeys } from './keys.js';
import { drift, keepLease, type Lease } from './lease.js';
import { Masters } from './masters.js';
import { checkClients, checkTimeout, checkTtl, validateLockOptions, type RedisLockOptions, type ResolvedLockOptions } from './options.js';
import { ReleaseListener } from './release-listener.js';
import { ScopeQueues, type Turn } from './scope-queue.js';
import { RELEASE_REPLY } from './scripts.js';
import type { LockAdapter, LockContext, LockOptions } from './types.js';

/**
 * While other processes wait, a process may still hand the lock to its own next caller this
 * many times in a row (saving a cross-process hand-off, the slow part) before it must yield:
 * waiters elsewhere wait at most this many extra sections, and shares stay even.
 */
const MAX_LOCAL_STREAK = 3;

/**
 * A leased, fenced, fair lock on one Redis (or a Cluster), or on several independent masters
 * with a majority quorum. Create with {@link createRedisLock}.
 */
export class RedisLock implements LockAdapter {
  /** Masters that must agree: 1 for a single client, a majority for several. */
  readonly quorum: number;
  private readonly opts: ResolvedLockOptions;
  private readonly masters: Masters;
  /** Tells this instance's release messages apart (it hands off locally instead). */
  private readonly instance = randomUUID().slice(0, 13);
  private tokens = 0;
  /** Consecutive local hand-offs per scope made while other processes waited. */
  private readonly streaks = new Map<string, number>();
  /**
   * Tokens whose `withLock` call is still running (waiting or holding). A grant message for one of
   * them is never treated as an orphan (and released under a live holder); one that arrives
   * before its waiter listens is kept for it.
   */
  private readonly liveTokens = new Set<string>();
  private readonly local: ScopeQueues;
  private readonly listener: ReleaseListener;
  private readonly acquirer: Acquirer;
  private closed = false;

  /** Prefer {@link createRedisLock}; the two forms are the same as its own. */
  constructor(clients: Redis | Cluster | readonly Redis[], resolved: ResolvedLockOptions);
  constructor(options: RedisLockOptions);
  constructor(first: RedisLockOptions | Redis | Cluster | readonly Redis[], resolved?: ResolvedLockOptions) {
    const given = resolved === undefined ? validateLockOptions(first) : { clients: checkClients(first, resolved), resolved };
    this.opts = given.resolved;
    const channel = releaseChannel(this.opts.prefix);
    this.masters = new Masters(given.clients, this.opts, channel, this.instance);
    this.quorum = this.masters.quorum;
    this.local = new ScopeQueues((scope, turn) => void this.masters.release(scopeKeys(this.opts.prefix, scope), turn.token));
    this.listener = new ReleaseListener(
      this.masters.clients,
      channel,
      this.instance,
      {
        isLive: (token) => this.liveTokens.has(token),
        onOrphan: (tag, token) => void this.masters.leave(keysForTag(this.opts.prefix, tag), token),
      },
      (err) => this.opts.logger.warn({ error: err.message }, 'lock release subscription error; waiters fall back to asking Redis'),
    );
    this.acquirer = new Acquirer(this.masters, this.listener, this.opts);
  }

  /**
   * Runs `fn` while holding the lock on `scope`. Waits (first come, first served) up to
   * `acquireTimeoutMs`, extends the lease while `fn` runs, and releases afterwards.
   */
  async withLock<T>(scope: string, fn: (ctx: LockContext) => Promise<T>, opts: LockOptions = {}): Promise<T> {
    if (this.closed) throw new LockClosedError();
    if (typeof scope !== 'string' || scope.trim() === '' || scope.length > 1_024) {
      throw new InvalidArgumentError('@lota/org-lock: withLock() scope must be a non-empty string of at most 1024 characters.');
    }
    if (typeof fn !== 'function') throw new InvalidArgumentError('@lota/org-lock: withLock() fn must be an async function.');
    const ttlMs = opts.ttlMs === undefined ? this.opts.ttlMs : checkTtl('withLock() ', opts.ttlMs);
    const timeoutMs = opts.acquireTimeoutMs === undefined ? this.opts.acquireTimeoutMs : checkTimeout('withLock() ', opts.acquireTimeoutMs);
    const signal = opts.signal;
    signal?.throwIfAborted();
    const deadline = performance.now() + timeoutMs;
    const keys = scopeKeys(this.opts.prefix, scope);
    // The lease length rides in the token, so a release that grants the lock to this waiter knows it.
    const turn: Turn = { token: `${this.instance}:${++this.tokens}:${ttlMs}`, ttlMs, gone: false };

    this.liveTokens.add(turn.token);
    try {
      await this.local.enter(scope, turn, deadline, timeoutMs, signal);
    } catch (err) {
      this.liveTokens.delete(turn.token);
      throw err;
    }
    try {
      for (;;) {
        const handed = turn.handed;
        turn.handed = undefined;
        const lease =
          handed && performance.now() < handed.validUntil
            ? { scope, keys, token: turn.token, ...handed }
            : await this.acquirer.acquire(scope, keys, turn, deadline, timeoutMs, signal);
        if (signal?.aborted) {
          // The caller gave up while the acquire was in flight: never run fn; pass the lock on.
          await this.releaseAndHandOff(lease);
          throw abortReason(signal);
        }
        // Only a lease with time left reaches fn (the event loop may have stalled since Redis
        // answered); an expired one is not released (there is nothing to wait for): ask again.
        if (performance.now() < lease.validUntil) return await this.run(lease, ttlMs, fn, signal);
      }
    } finally {
      this.liveTokens.delete(turn.token);
      this.listener.forget(turn.token);
      this.local.leave(scope);
    }
  }

  private async run<T>(lease: Lease, ttlMs: number, fn: (ctx: LockContext) => Promise<T>, callerSignal: AbortSignal | undefined): Promise<T> {
    const kept = keepLease(lease, ttlMs, this.opts.autoExtend, () => this.masters.extend(lease, ttlMs), this.opts.logger);
    const signal = callerSignal ? AbortSignal.any([kept.signal, callerSignal]) : kept.signal;
    let value: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      value = await fn({ signal, fencingToken: lease.fencingToken, scope: lease.scope });
    } catch (error) {
      failure = { error };
    }
    const lost = kept.stop();
    if (lost !== undefined) throw new LockLostError(lease.scope, lease.fencingToken, lost, failure ? { cause: failure.error } : undefined);
    // Release only a lease that is still valid: an expired one is not ours to wait on.
    if (performance.now() < lease.validUntil) await this.releaseAndHandOff(lease);
    if (failure) throw failure.error;
    return value as T;
  }

  /**
   * Releases, and in the same script offers the lock to the next caller in this process: it is
   * handed over directly when no other process waits (one round trip per hand-off), or queued
   * behind the processes that do (so they are served first). Several masters: plain release.
   */
  private async releaseAndHandOff(lease: Lease): Promise<void> {
    const [client, ...more] = this.masters.clients;
    const next = client && more.length === 0 ? this.local.next(lease.scope) : undefined;
    if (!client || !next) {
      this.streaks.delete(lease.scope);
      await this.masters.release(lease.keys, lease.token);
      return;
    }
    const start = performance.now();
    const streak = this.streaks.get(lease.scope) ?? 0;
    const r = await this.masters.call(client, () => this.masters.sendRelease(client, lease.keys, lease.token, next, streak < MAX_LOCAL_STREAK));
    if (!r.ok) {
      this.opts.logger.warn({ scope: lease.scope, error: r.error }, 'lock release did not reach Redis; the lease will expire by itself');
      return;
    }
    if (r.value[0] === RELEASE_REPLY.HANDED_OVER) {
      next.handed = { fencingToken: Number(r.value[1]), validUntil: start + next.ttlMs - drift(next.ttlMs) };
      if (r.value[2] === 1) this.streaks.set(lease.scope, streak + 1); // othersWait: the hand-off counts towards the streak
      else this.streaks.delete(lease.scope);
      if (next.gone) void this.masters.release(lease.keys, next.token); // its caller gave up meanwhile
    } else {
      this.streaks.delete(lease.scope);
      if (r.value[0] === RELEASE_REPLY.QUEUED_NEXT) next.queuedAt = start;
    }
  }

  /** Stops the pub/sub connections this lock opened. Your clients stay open. In-flight `withLock` calls finish. */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    await this.listener.close(opts.timeoutMs ?? 1_000);
  }
}

/**
 * Creates the lock over options already resolved by `resolveLockOptions` (they are not parsed
 * again): how `@lota/runtime` builds its lock from the section it validated at creation.
 */
export function createRedisLock(clients: Redis | Cluster | readonly Redis[], resolved: ResolvedLockOptions): RedisLock;
/** Creates the Redis lock. Validates options (`CONFIG_INVALID`); connects nothing new until a waiter needs pub/sub. */
export function createRedisLock(options: RedisLockOptions): RedisLock;
export function createRedisLock(first: RedisLockOptions | Redis | Cluster | readonly Redis[], resolved?: ResolvedLockOptions): RedisLock {
  return resolved === undefined ? new RedisLock(first as RedisLockOptions) : new RedisLock(first as Redis | Cluster | readonly Redis[], resolved);
}
