import { settleWithin, withDeadline } from '@lota/shared';
import type { Cluster, Redis } from 'ioredis';

type Client = Redis | Cluster;

/** Scopes whose last release time is remembered (oldest forgotten first). */
const MAX_RECENT = 10_000;
/** Grants that arrived before their waiter listened, remembered until it does (oldest forgotten first). */
const MAX_EARLY_GRANTS = 10_000;
/**
 * Bound on setting up the subscription (connect + SUBSCRIBE). Waiters never wait for it (they ask
 * Redis on their own meanwhile), so this only limits how long a hanging attempt delays the next.
 */
const SUBSCRIBE_TIMEOUT_MS = 5_000;
/** After a failed subscription, the next attempt waits this long, doubling up to the maximum. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** What the lock tells the listener about a token a grant message names. */
export interface GrantRouting {
  /** True while the token's `withLock` call runs (waiting or holding). */
  isLive(token: string): boolean;
  /** A grant for one of our tokens whose caller is gone: pass the lock on. */
  onOrphan(tag: string, token: string): void;
}

/**
 * One pub/sub connection per master (a duplicate of the client) on the release channel, shared by
 * every waiter in the process. Two kinds of message arrive:
 *
 * - `<sender> r <tag>`: the lock is free; waiters of that scope should try again;
 * - `<sender> g <token> <fence> <tag>`: the lock was granted to the waiter with that token.
 *
 * Both are only hints to ask Redis now: a grant is never used on the message's word (it may be
 * stale: its lease may have run out while the waiter's process stalled). Waiters also ask on
 * their own, and poll while the subscription is not up, so a lost message or a refused
 * connection costs latency, never safety, and no caller ever waits for the subscription.
 */
export class ReleaseListener {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly grants = new Map<string, () => void>();
  private readonly early = new Set<string>();
  private readonly recent = new Map<string, number>();
  private subscribers: Client[] | undefined;
  private since = 0;
  private subscribing = false;
  private retryAt = 0;
  private retryDelay = RETRY_MIN_MS;
  private closed = false;
  private readonly onParentEnd = (): void => this.drop();

  constructor(
    private readonly clients: readonly Client[],
    private readonly channel: string,
    /** This process's instance id: its own `r` messages are ignored (it hands off locally), and grants to its tokens are routed. */
    private readonly self: string,
    private readonly routing: GrantRouting,
    private readonly onError: (err: Error) => void,
  ) {}

  /** performance.now() when the subscription became active; undefined while not subscribed. */
  get subscribedAt(): number | undefined {
    return this.subscribers ? this.since : undefined;
  }

  /**
   * Starts subscribing in the background if not subscribed (at most one attempt at a time, and
   * not again until a back-off after a failure). Never waits: waiters poll until it is up, and
   * are woken (as by a release) when it comes up.
   */
  ensureSubscribed(): void {
    if (this.subscribers || this.subscribing || this.closed || performance.now() < this.retryAt) return;
    if (this.clients.some((c) => c.status === 'end')) return; // the host closed its client: nothing to subscribe with
    this.subscribing = true;
    void this.subscribe().finally(() => (this.subscribing = false));
  }

  private async subscribe(): Promise<void> {
    const subs = this.clients.map((c) => c.duplicate());
    for (const sub of subs) {
      sub.on('error', (err: Error) => this.onError(err));
      sub.on('message', (_channel: string, message: string) => this.dispatch(message));
    }
    try {
      await withDeadline(Promise.all(subs.map((s) => s.subscribe(this.channel))), SUBSCRIBE_TIMEOUT_MS, () => new Error(`release subscription not set up within ${SUBSCRIBE_TIMEOUT_MS} ms`));
    } catch (err) {
      for (const s of subs) s.disconnect();
      this.retryAt = performance.now() + this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
      this.onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.closed || this.clients.some((c) => c.status === 'end')) {
      for (const s of subs) s.disconnect();
      return;
    }
    this.subscribers = subs;
    this.since = performance.now();
    this.retryDelay = RETRY_MIN_MS;
    // The subscription must not outlive the clients it was made from (a host that quits its
    // client without closing the lock must still be able to exit).
    for (const c of this.clients) c.once('end', this.onParentEnd);
    // Releases before this moment went unheard: every waiter asks again now.
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
  }

  private dispatch(message: string): void {
    const [sender = '', kind, a, b] = message.split(' ', 4);
    if (kind === 'r' && sender !== this.self && a !== undefined) {
      this.wake(message.slice(sender.length + 3));
    } else if (kind === 'g' && a !== undefined && b !== undefined) {
      const token = a;
      if (!token.startsWith(`${this.self}:`)) return;
      const tag = message.slice(sender.length + 3 + token.length + 1 + b.length + 1);
      const onGrant = this.grants.get(token);
      if (onGrant) onGrant();
      else if (this.routing.isLive(token)) this.remember(token); // read before its waiter listened
      else this.routing.onOrphan(tag, token);
    }
  }

  private remember(token: string): void {
    this.early.add(token);
    if (this.early.size > MAX_EARLY_GRANTS) {
      const oldest = this.early.values().next().value;
      if (oldest !== undefined) this.early.delete(oldest);
    }
  }

  /** Calls `wake` on the next release of `tag` (and when the subscription comes up). Returns the unregister function. */
  listen(tag: string, wake: () => void): () => void {
    let set = this.waiters.get(tag);
    if (!set) {
      set = new Set();
      this.waiters.set(tag, set);
    }
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(tag) === set) this.waiters.delete(tag);
    };
  }

  /**
   * Calls `onGrant` when a release grants the lock to `token` (at once, in a microtask, if that
   * message was read before this call). Returns the unregister function.
   */
  awaitGrant(token: string, onGrant: () => void): () => void {
    this.grants.set(token, onGrant);
    if (this.early.delete(token)) queueMicrotask(() => this.grants.get(token)?.());
    return () => void this.grants.delete(token);
  }

  /** The token's call has ended: forget an early grant nobody will ask for. */
  forget(token: string): void {
    this.early.delete(token);
  }

  /**
   * When the last free-lock message for `tag` arrived (performance.now()), 0 if never (recently).
   * Messages on the pub/sub connection can be read before the reply to a command sent earlier
   * on the main connection (two sockets, one event loop), so a waiter compares this with the
   * time it sent its attempt instead of trusting that it would have heard.
   */
  lastReleaseAt(tag: string): number {
    return this.recent.get(tag) ?? 0;
  }

  private wake(tag: string): void {
    this.recent.delete(tag); // insertion order = age order
    this.recent.set(tag, performance.now());
    if (this.recent.size > MAX_RECENT) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    const set = this.waiters.get(tag);
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  /** Drops the subscription at once (a parent client ended); a later waiter may subscribe again. */
  private drop(): void {
    const subs = this.subscribers ?? [];
    this.subscribers = undefined;
    for (const c of this.clients) c.off('end', this.onParentEnd);
    for (const s of subs) s.disconnect();
  }

  /** Unsubscribes, waiting up to `timeoutMs` for a polite QUIT, then drops the connections. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const subs = this.subscribers ?? [];
    this.subscribers = undefined;
    for (const c of this.clients) c.off('end', this.onParentEnd);
    await settleWithin(Promise.allSettled(subs.map((s) => s.quit())), timeoutMs);
    for (const s of subs) s.disconnect();
  }
}
