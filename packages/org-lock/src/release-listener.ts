import type { Cluster, Redis } from 'ioredis';

type Client = Redis | Cluster;

/** Scopes whose last release time is remembered (oldest forgotten first). */
const MAX_RECENT = 10_000;

/**
 * One pub/sub connection per master (a duplicate of the client) on the release channel, shared by
 * every waiter in the process. Two kinds of message arrive:
 *
 * - `<sender> r <tag>`: the lock is free; waiters of that scope should try again;
 * - `<sender> g <token> <fence> <tag>`: the lock was granted to the waiter with that token.
 *
 * It only speeds hand-offs up: waiters also ask Redis again on their own (their attempt finds a
 * lock granted to them), so a lost subscription costs latency, never safety.
 */
export class ReleaseListener {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly grants = new Map<string, (fencingToken: number) => void>();
  private readonly recent = new Map<string, number>();
  private subscribers: Client[] | undefined;
  private since = 0;
  private subscribing: Promise<boolean> | undefined;
  private closed = false;

  constructor(
    private readonly clients: readonly Client[],
    private readonly channel: string,
    /** This process's instance id: its own `r` messages are ignored (it hands off locally), and grants to its tokens are routed. */
    private readonly self: string,
    /** A grant for one of our tokens whose waiter is gone: pass the lock on. */
    private readonly onOrphanGrant: (tag: string, token: string) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** performance.now() when the subscription became active; undefined while not subscribed. */
  get subscribedAt(): number | undefined {
    return this.subscribers ? this.since : undefined;
  }

  /** Resolves true once subscribed (false if subscribing failed; waiters then rely on asking again). */
  ready(): Promise<boolean> {
    if (this.subscribers) return Promise.resolve(true);
    this.subscribing ??= this.subscribe();
    return this.subscribing;
  }

  private async subscribe(): Promise<boolean> {
    const subs = this.clients.map((c) => c.duplicate());
    for (const sub of subs) {
      sub.on('error', (err: Error) => this.onError(err));
      sub.on('message', (_channel: string, message: string) => this.dispatch(message));
    }
    try {
      await Promise.all(subs.map((s) => s.subscribe(this.channel)));
      if (this.closed) {
        for (const s of subs) s.disconnect();
        return false;
      }
      this.subscribers = subs;
      this.since = performance.now();
      return true;
    } catch (err) {
      for (const s of subs) s.disconnect();
      this.subscribing = undefined;
      this.onError(err as Error);
      return false;
    }
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
      if (onGrant) onGrant(Number(b));
      else this.onOrphanGrant(tag, token);
    }
  }

  /** Calls `wake` on the next release of `tag`. Returns the unregister function. */
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

  /** Calls `onGrant` when a release grants the lock to `token`. Returns the unregister function. */
  awaitGrant(token: string, onGrant: (fencingToken: number) => void): () => void {
    this.grants.set(token, onGrant);
    return () => void this.grants.delete(token);
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

  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const subs = this.subscribers ?? [];
    this.subscribers = undefined;
    await Promise.race([
      Promise.allSettled(subs.map((s) => s.quit())),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
    for (const s of subs) s.disconnect();
  }
}
