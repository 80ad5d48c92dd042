import { raceTimeout, unusableReason } from '@lota/shared';
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  InvalidArgumentError,
  LockClosedError,
  LockLostError,
  LockTimeoutError,
  RedisUnreachableError,
} from './errors.js';
import { keysForTag, releaseChannel, scopeKeys, type ScopeKeys } from './keys.js';
import { checkClients, checkTimeout, checkTtl, validateLockOptions, type RedisLockOptions, type ResolvedLockOptions } from './options.js';
import { abortReason } from './abort-reason.js';
import { ReleaseListener } from './release-listener.js';
import { ScopeQueues, type Turn } from './scope-queue.js';
import { ACQUIRE, EXTEND, LEAVE, RAISE_FENCE, RELEASE } from './scripts.js';
import type { LockAdapter, LockContext, LockOptions } from './types.js';

type Client = Redis | Cluster;

/** The commands `defineCommand` adds (EVALSHA, falling back to EVAL once per connection). */
interface LockCommands {
  lotaLockAcquire(
    owner: string, fence: string, queue: string, expiries: string, tickets: string,
    token: string, ttl: number, entryTtl: number, fair: string, channel: string, sender: string, tag: string,
  ): Promise<[number, number, number?]>;
  lotaLockRelease(
    owner: string, fence: string, queue: string, expiries: string, tickets: string,
    token: string, channel: string, sender: string, tag: string, nextToken: string, nextTtl: number, entryTtl: number, fair: string, mayKeep: string,
  ): Promise<[number, number?, number?]>;
  lotaLockLeave(
    owner: string, fence: string, queue: string, expiries: string, tickets: string,
    token: string, channel: string, sender: string, tag: string, entryTtl: number, fair: string,
  ): Promise<number>;
  lotaLockExtend(owner: string, token: string, ttl: number): Promise<number>;
  lotaLockRaiseFence(fence: string, value: number): Promise<number>;
}

/** Clock drift allowance (Redlock): 1% of the lease plus 2 ms. */
const drift = (ttlMs: number): number => Math.floor(ttlMs * 0.01) + 2;
/** A waiter's place in the Redis queue lapses this long after its last attempt (so a dead waiter cannot block others for long). */
const ENTRY_TTL_MS = 3_000;
/** A waiting contender asks again at least this often, which also keeps its queue entry alive. */
const REFRESH_MS = 1_000;
/**
 * While other processes wait, a process may still hand the lock to its own next caller this
 * many times in a row (saving a cross-process hand-off, the slow part) before it must yield:
 * waiters elsewhere wait at most this many extra sections, and shares stay even.
 */
const MAX_LOCAL_STREAK = 3;
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

interface Lease {
  scope: string;
  keys: ScopeKeys;
  token: string;
  fencingToken: number;
  /** performance.now() after which the lease must be presumed gone. */
  validUntil: number;
}

type Attempt =
  | { kind: 'acquired'; fencingToken: number; pttl: number }
  | { kind: 'held'; pttl: number }
  | { kind: 'unreachable'; reasons: string[] };

function describeClient(client: Client): string {
  const o = client.options as { host?: string; port?: number; redisOptions?: unknown };
  return 'redisOptions' in o ? 'cluster' : `${o.host ?? 'localhost'}:${o.port ?? 6379}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A leased, fenced, fair lock on one Redis (or a Cluster), or on several independent masters
 * with a majority quorum. Create with {@link createRedisLock}.
 */
export class RedisLock implements LockAdapter {
  /** Masters that must agree: 1 for a single client, a majority for several. */
  readonly quorum: number;
  private readonly opts: ResolvedLockOptions;
  private readonly clients: Array<Client & LockCommands>;
  private readonly channel: string;
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
  private readonly graceMs: number;
  private closed = false;

  /** Prefer {@link createRedisLock}; the two forms are the same as its own. */
  constructor(clients: Redis | Cluster | readonly Redis[], resolved: ResolvedLockOptions);
  constructor(options: RedisLockOptions);
  constructor(first: RedisLockOptions | Redis | Cluster | readonly Redis[], resolved?: ResolvedLockOptions) {
    const given = resolved === undefined ? validateLockOptions(first) : { clients: checkClients(first, resolved), resolved };
    this.opts = given.resolved;
    this.clients = given.clients.map((c) => defineLockCommands(c));
    this.quorum = Math.floor(this.clients.length / 2) + 1;
    this.channel = releaseChannel(this.opts.prefix);
    this.local = new ScopeQueues((scope, turn) => void this.releaseKeys(scopeKeys(this.opts.prefix, scope), turn.token));
    this.listener = new ReleaseListener(
      this.clients,
      this.channel,
      this.instance,
      {
        isLive: (token) => this.liveTokens.has(token),
        onOrphan: (tag, token) => void this.leaveQueue(keysForTag(this.opts.prefix, tag), token),
      },
      (err) => this.opts.logger.warn({ error: err.message }, 'lock release subscription error; waiters fall back to asking Redis'),
    );
    this.graceMs = Math.max(GHOST_GRACE_MS, 2 * this.opts.requestTimeoutMs);
  }

  /** First lease of an acquisition (see GHOST_GRACE_MS); without autoExtend nobody would extend it, so it is the whole lease. */
  private firstLease(ttlMs: number): number {
    return this.opts.autoExtend ? Math.min(ttlMs, this.graceMs) : ttlMs;
  }

  private get fair(): string {
    return this.opts.fair && this.clients.length === 1 ? '1' : '0';
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
            : await this.acquire(scope, keys, turn, deadline, timeoutMs, signal);
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

  private async acquire(scope: string, keys: ScopeKeys, turn: Turn, deadline: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Lease> {
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
          const attempt = budget > 0 ? this.attempt(keys, token, firstLease) : undefined;
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
            void this.releaseKeys(keys, token);
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
          if (this.clients.length > 1) pause = Math.min(pause, 10 + Math.random() * 40); // Redlock: retry with jitter
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
      if (!acquired) void this.leaveQueue(keys, token);
    }
    const outcome = answered ?? { kind: 'unreachable', reasons: [`no reply within ${Math.round(performance.now() - firstTry)} ms`] };
    if (outcome.kind === 'unreachable') {
      throw new RedisUnreachableError(
        `@lota/org-lock: could not acquire '${scope}': ${this.clients.length > 1 ? `fewer than ${this.quorum} of ${this.clients.length} Redis masters answered` : 'Redis did not answer'} within acquireTimeoutMs (${timeoutMs} ms): ${outcome.reasons.join('; ')}. fn did not run.`,
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

  /** One acquisition attempt on every master. */
  private async attempt(keys: ScopeKeys, token: string, ttlMs: number): Promise<Attempt> {
    const fair = this.fair;
    const results = await Promise.all(
      this.clients.map((c) =>
        this.call(
          c,
          () =>
            c.lotaLockAcquire(
              keys.owner, keys.fence, keys.queue, keys.expiries, keys.tickets,
              token, ttlMs, ENTRY_TTL_MS, fair, this.channel, this.instance, keys.tag,
            ),
          // A timed-out acquire may still run later on this connection: a leave queued behind it undoes it.
          () => void this.sendLeave(c, keys, token).catch(() => undefined),
        ),
      ),
    );
    const granted: Array<{ client: Client & LockCommands; fence: number; pttl: number }> = [];
    const reasons: string[] = [];
    let pttl = -2;
    for (const [i, client] of this.clients.entries()) {
      const r = results[i];
      if (!r) continue;
      if (!r.ok) reasons.push(`${describeClient(client)}: ${r.error}`);
      else if (r.value[0] === 1) granted.push({ client, fence: r.value[1], pttl: r.value[2] ?? ttlMs });
      else if (r.value[1] > 0) pttl = pttl > 0 ? Math.min(pttl, r.value[1]) : r.value[1];
    }
    if (granted.length >= this.quorum) {
      let fencingToken = Math.max(...granted.map((g) => g.fence));
      const leasePttl = Math.min(...granted.map((g) => g.pttl));
      if (this.clients.length > 1) {
        const raised = await Promise.all(granted.map((g) => this.call(g.client, () => g.client.lotaLockRaiseFence(keys.fence, fencingToken))));
        if (raised.filter((r) => r.ok).length < this.quorum) {
          await Promise.all(granted.map((g) => this.call(g.client, () => this.sendRelease(g.client, keys, token, undefined))));
          return { kind: 'unreachable', reasons: ['could not record the fencing token on a majority'] };
        }
        fencingToken = Math.max(fencingToken, ...raised.map((r) => (r.ok ? r.value : 0)));
      }
      return { kind: 'acquired', fencingToken, pttl: leasePttl };
    }
    if (granted.length > 0) {
      // Some masters said yes, but not a majority: give those back at once.
      await Promise.all(granted.map((g) => this.call(g.client, () => this.sendRelease(g.client, keys, token, undefined))));
    }
    if (reasons.length > this.clients.length - this.quorum) return { kind: 'unreachable', reasons };
    return { kind: 'held', pttl };
  }

  private async run<T>(lease: Lease, ttlMs: number, fn: (ctx: LockContext) => Promise<T>, callerSignal: AbortSignal | undefined): Promise<T> {
    const controller = new AbortController();
    let lost: string | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const lose = (reason: string): void => {
      if (lost !== undefined || done) return;
      lost = reason;
      clearTimeout(timer);
      controller.abort(new LockLostError(lease.scope, lease.fencingToken, reason));
      this.opts.logger.warn({ scope: lease.scope, fencingToken: lease.fencingToken, reason }, 'lock lost while its holder was running');
    };
    const extendEvery = Math.max(1, Math.floor(ttlMs / 3));
    // One timer per holder: it fires for the next extension, or when the lease runs out locally,
    // whichever is first. A timer that fires late (a stalled event loop) finds the lease gone.
    const schedule = (extendIn: number): void => {
      const untilExpiry = Math.max(0, lease.validUntil - performance.now());
      timer = setTimeout(() => void tick(), this.opts.autoExtend ? Math.min(extendIn, untilExpiry) : untilExpiry);
    };
    const tick = async (): Promise<void> => {
      if (done || lost !== undefined) return;
      if (performance.now() >= lease.validUntil) {
        lose(
          this.opts.autoExtend
            ? 'the lease ran out before it could be extended (Redis unreachable, or the process stalled)'
            : `the lease ran out (${ttlMs} ms, autoExtend off)`,
        );
        return;
      }
      if (!this.opts.autoExtend) {
        schedule(0); // woke a hair early: wait out the rest of the lease
        return;
      }
      const start = performance.now();
      const outcome = await this.extendLease(lease, ttlMs);
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

    const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
    let value: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      value = await fn({ signal, fencingToken: lease.fencingToken, scope: lease.scope });
    } catch (error) {
      failure = { error };
    }
    done = true;
    clearTimeout(timer);
    if (lost !== undefined) throw new LockLostError(lease.scope, lease.fencingToken, lost, failure ? { cause: failure.error } : undefined);
    // Release only a lease that is still valid: an expired one is not ours to wait on.
    if (performance.now() < lease.validUntil) await this.releaseAndHandOff(lease);
    if (failure) throw failure.error;
    return value as T;
  }

  private async extendLease(lease: Lease, ttlMs: number): Promise<'extended' | 'refused' | 'unreachable'> {
    const results = await Promise.all(this.clients.map((c) => this.call(c, () => c.lotaLockExtend(lease.keys.owner, lease.token, ttlMs))));
    const ok = results.filter((r) => r.ok && r.value === 1).length;
    const refused = results.filter((r) => r.ok && r.value === 0).length;
    if (ok >= this.quorum) return 'extended';
    if (refused > this.clients.length - this.quorum) return 'refused';
    return 'unreachable';
  }

  /**
   * Releases, and in the same script offers the lock to the next caller in this process: it is
   * handed over directly when no other process waits (one round trip per hand-off), or queued
   * behind the processes that do (so they are served first). Several masters: plain release.
   */
  private async releaseAndHandOff(lease: Lease): Promise<void> {
    const [client, ...more] = this.clients;
    const next = client && more.length === 0 ? this.local.next(lease.scope) : undefined;
    if (!client || !next) {
      this.streaks.delete(lease.scope);
      await this.releaseKeys(lease.keys, lease.token);
      return;
    }
    const start = performance.now();
    const streak = this.streaks.get(lease.scope) ?? 0;
    const r = await this.call(client, () => this.sendRelease(client, lease.keys, lease.token, next, streak < MAX_LOCAL_STREAK));
    if (!r.ok) {
      this.opts.logger.warn({ scope: lease.scope, error: r.error }, 'lock release did not reach Redis; the lease will expire by itself');
      return;
    }
    if (r.value[0] === 2) {
      next.handed = { fencingToken: Number(r.value[1]), validUntil: start + next.ttlMs - drift(next.ttlMs) };
      if (r.value[2] === 1) this.streaks.set(lease.scope, streak + 1);
      else this.streaks.delete(lease.scope);
      if (next.gone) void this.releaseKeys(lease.keys, next.token); // its caller gave up meanwhile
    } else {
      this.streaks.delete(lease.scope);
      if (r.value[0] === 3) next.queuedAt = start;
    }
  }

  private sendRelease(client: Client & LockCommands, keys: ScopeKeys, token: string, next: Turn | undefined, mayKeep = false): Promise<[number, number?, number?]> {
    return client.lotaLockRelease(
      keys.owner, keys.fence, keys.queue, keys.expiries, keys.tickets,
      token, this.channel, this.instance, keys.tag, next?.token ?? '', next?.ttlMs ?? 0, ENTRY_TTL_MS, this.fair, mayKeep ? '1' : '0',
    );
  }

  private sendLeave(client: Client & LockCommands, keys: ScopeKeys, token: string): Promise<number> {
    return client.lotaLockLeave(
      keys.owner, keys.fence, keys.queue, keys.expiries, keys.tickets,
      token, this.channel, this.instance, keys.tag, ENTRY_TTL_MS, this.fair,
    );
  }

  /** One release attempt per master, bounded by requestTimeoutMs; failures only cost the lease's natural expiry. */
  private async releaseKeys(keys: ScopeKeys, token: string): Promise<void> {
    const results = await Promise.all(this.clients.map((c) => this.call(c, () => this.sendRelease(c, keys, token, undefined))));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      this.opts.logger.warn({ scope: keys.tag, errors: failed.map((r) => (r.ok ? '' : r.error)) }, 'lock release did not reach Redis; the lease will expire by itself');
    }
  }

  /** Leaves the wait queue, and passes the lock on if a release granted it to this token meanwhile. */
  private async leaveQueue(keys: ScopeKeys, token: string): Promise<void> {
    await Promise.all(this.clients.map((c) => this.call(c, () => this.sendLeave(c, keys, token))));
  }

  /**
   * One Redis call, never waiting past requestTimeoutMs. A client that lost its connection
   * (reconnecting, closed) is not sent anything; one that is still connecting is (ioredis sends it
   * once connected). `onTimeout` runs when a sent call times out.
   */
  private async call<R>(client: Client, send: () => Promise<R>, onTimeout?: () => void): Promise<{ ok: true; value: R } | { ok: false; error: string }> {
    const unusable = unusableReason(client);
    if (unusable !== undefined) return { ok: false, error: unusable };
    try {
      const outcome = await raceTimeout(send(), this.opts.requestTimeoutMs);
      if (outcome.done) return { ok: true, value: outcome.value };
      onTimeout?.();
      return { ok: false, error: `no reply within ${this.opts.requestTimeoutMs} ms` };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
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

  /** Stops the pub/sub connections this lock opened. Your clients stay open. In-flight `withLock` calls finish. */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    await this.listener.close(opts.timeoutMs ?? 1_000);
  }
}

function defineLockCommands(client: Client): Client & LockCommands {
  const c = client as Client & Partial<LockCommands>;
  if (typeof c.lotaLockAcquire !== 'function') client.defineCommand('lotaLockAcquire', { numberOfKeys: 5, lua: ACQUIRE });
  if (typeof c.lotaLockLeave !== 'function') client.defineCommand('lotaLockLeave', { numberOfKeys: 5, lua: LEAVE });
  if (typeof c.lotaLockRelease !== 'function') client.defineCommand('lotaLockRelease', { numberOfKeys: 5, lua: RELEASE });
  if (typeof c.lotaLockExtend !== 'function') client.defineCommand('lotaLockExtend', { numberOfKeys: 1, lua: EXTEND });
  if (typeof c.lotaLockRaiseFence !== 'function') client.defineCommand('lotaLockRaiseFence', { numberOfKeys: 1, lua: RAISE_FENCE });
  return client as Client & LockCommands;
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
