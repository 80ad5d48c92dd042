import { raceTimeout, unusableReason } from '@lota/shared';
import { defineLockCommands, type Client, type LockClient } from './commands.js';
import type { ScopeKeys } from './keys.js';
import type { ExtendOutcome, Lease } from './lease.js';
import type { ResolvedLockOptions } from './options.js';
import type { Turn } from './scope-queue.js';
import { ACQUIRE_REPLY, EXTEND_REPLY } from './scripts.js';

/** A waiter's place in the Redis queue lapses this long after its last attempt (so a dead waiter cannot block others for long). */
export const ENTRY_TTL_MS = 3_000;

/** What one acquisition attempt on the masters found. */
export type Attempt =
  | { kind: 'acquired'; fencingToken: number; pttl: number }
  | { kind: 'held'; pttl: number }
  | { kind: 'unreachable'; reasons: string[] };

/** One bounded call's outcome: the reply, or why there is none. */
export type CallResult<R> = { ok: true; value: R } | { ok: false; error: string };

function describeClient(client: Client): string {
  const o = client.options as { host?: string; port?: number; redisOptions?: unknown };
  return 'redisOptions' in o ? 'cluster' : `${o.host ?? 'localhost'}:${o.port ?? 6379}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The masters a lock runs on: one Redis (or a Cluster), or several independent masters that
 * must agree by a majority (Redlock). Every call is bounded by `requestTimeoutMs`; the quorum
 * counting over the masters' replies lives here.
 */
export class Masters {
  /** Masters that must agree: 1 for a single client, a majority for several. */
  readonly quorum: number;
  readonly clients: LockClient[];

  constructor(
    clients: readonly Client[],
    private readonly opts: ResolvedLockOptions,
    private readonly channel: string,
    /** Tells this instance's release messages apart (it hands off locally instead). */
    private readonly instance: string,
  ) {
    this.clients = clients.map((c) => defineLockCommands(c));
    this.quorum = Math.floor(this.clients.length / 2) + 1;
  }

  private get fair(): string {
    return this.opts.fair && this.clients.length === 1 ? '1' : '0';
  }

  /** One acquisition attempt on every master. */
  async attempt(keys: ScopeKeys, token: string, ttlMs: number): Promise<Attempt> {
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
    const granted: Array<{ client: LockClient; fence: number; pttl: number }> = [];
    const reasons: string[] = [];
    let pttl = -2;
    for (const [i, client] of this.clients.entries()) {
      const r = results[i];
      if (!r) continue;
      if (!r.ok) reasons.push(`${describeClient(client)}: ${r.error}`);
      else if (r.value[0] === ACQUIRE_REPLY.ACQUIRED) granted.push({ client, fence: r.value[1], pttl: r.value[2] ?? ttlMs });
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

  /** One extension of `lease` to `ttlMs` on every master. */
  async extend(lease: Lease, ttlMs: number): Promise<ExtendOutcome> {
    const results = await Promise.all(this.clients.map((c) => this.call(c, () => c.lotaLockExtend(lease.keys.owner, lease.token, ttlMs))));
    const ok = results.filter((r) => r.ok && r.value === EXTEND_REPLY.EXTENDED).length;
    const refused = results.filter((r) => r.ok && r.value === EXTEND_REPLY.NOT_OURS).length;
    if (ok >= this.quorum) return 'extended';
    if (refused > this.clients.length - this.quorum) return 'refused';
    return 'unreachable';
  }

  /** The release script on one master, offering the lock to `next` (a caller in this process) if given. */
  sendRelease(client: LockClient, keys: ScopeKeys, token: string, next: Turn | undefined, mayKeep = false): Promise<[number, number?, number?]> {
    return client.lotaLockRelease(
      keys.owner, keys.fence, keys.queue, keys.expiries, keys.tickets,
      token, this.channel, this.instance, keys.tag, next?.token ?? '', next?.ttlMs ?? 0, ENTRY_TTL_MS, this.fair, mayKeep ? '1' : '0',
    );
  }

  private sendLeave(client: LockClient, keys: ScopeKeys, token: string): Promise<number> {
    return client.lotaLockLeave(
      keys.owner, keys.fence, keys.queue, keys.expiries, keys.tickets,
      token, this.channel, this.instance, keys.tag, ENTRY_TTL_MS, this.fair,
    );
  }

  /** One release attempt per master, bounded by requestTimeoutMs; failures only cost the lease's natural expiry. */
  async release(keys: ScopeKeys, token: string): Promise<void> {
    const results = await Promise.all(this.clients.map((c) => this.call(c, () => this.sendRelease(c, keys, token, undefined))));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      this.opts.logger.warn({ scope: keys.tag, errors: failed.map((r) => (r.ok ? '' : r.error)) }, 'lock release did not reach Redis; the lease will expire by itself');
    }
  }

  /** Leaves the wait queue, and passes the lock on if a release granted it to this token meanwhile. */
  async leave(keys: ScopeKeys, token: string): Promise<void> {
    await Promise.all(this.clients.map((c) => this.call(c, () => this.sendLeave(c, keys, token))));
  }

  /**
   * One Redis call, never waiting past requestTimeoutMs. A client that lost its connection
   * (reconnecting, closed) is not sent anything; one that is still connecting is (ioredis sends it
   * once connected). `onTimeout` runs when a sent call times out.
   */
  async call<R>(client: Client, send: () => Promise<R>, onTimeout?: () => void): Promise<CallResult<R>> {
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
}
