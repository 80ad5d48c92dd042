import type { Cluster, Redis } from 'ioredis';

type Client = Redis | Cluster;

/** Lookups that timed out and are still unanswered; past this, Redis is skipped until one returns (a paused server). */
const MAX_STUCK_LOOKUPS = 8;
/** Keys whose write is still in flight; past this, new writes are dropped (a slow or paused server). */
const MAX_PENDING_WRITES = 5_000;

/** Tag of a key (`...{xx}...`): keys with one tag share a Cluster slot. */
function tagOf(key: string): string {
  const open = key.indexOf('{');
  return open < 0 ? '' : key.slice(open + 1, key.indexOf('}', open));
}

export interface StoreEvents {
  onError(kind: 'timeout' | 'unavailable' | 'error', detail: string): void;
}

/**
 * Redis side of the cache: one MGET per batch (one per hash tag on a Cluster), each bounded by
 * `timeoutMs`; writes are fire-and-forget pipelines. Nothing here ever waits on ioredis' offline
 * queue: a client that is not ready is simply not used.
 */
export class VectorStore {
  private stuck = 0;
  private pendingWrites = 0;

  constructor(
    private readonly redis: Client,
    private readonly ttlSeconds: number,
    private readonly timeoutMs: number,
    private readonly events: StoreEvents,
  ) {}

  private get isCluster(): boolean {
    return (this.redis as { isCluster?: boolean }).isCluster === true;
  }

  /** Stored buffers (null where absent), or undefined when Redis cannot answer in time. */
  async lookup(keys: string[]): Promise<Array<Buffer | null> | undefined> {
    if (this.redis.status !== 'ready') {
      this.events.onError('unavailable', `connection is ${this.redis.status}`);
      return undefined;
    }
    if (this.stuck >= MAX_STUCK_LOOKUPS) {
      this.events.onError('unavailable', `${this.stuck} earlier lookups are still unanswered`);
      return undefined;
    }
    const request = this.isCluster ? this.lookupPerSlot(keys) : this.redis.mgetBuffer(...keys);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const outcome = await Promise.race([
      request.then(
        (v) => ({ ok: true as const, v }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
      new Promise<{ ok: false; err: Error }>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          resolve({ ok: false, err: new Error(`no reply within ${this.timeoutMs} ms (timeoutMs)`) });
        }, this.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome.ok) return outcome.v;
    if (timedOut) {
      this.stuck++;
      void request.finally(() => this.stuck--).catch(() => undefined);
      this.events.onError('timeout', (outcome.err as Error).message);
    } else {
      this.events.onError('error', outcome.err instanceof Error ? outcome.err.message : String(outcome.err));
    }
    return undefined;
  }

  private async lookupPerSlot(keys: string[]): Promise<Array<Buffer | null>> {
    const groups = new Map<string, number[]>();
    keys.forEach((k, i) => {
      const tag = tagOf(k);
      const g = groups.get(tag);
      if (g) g.push(i);
      else groups.set(tag, [i]);
    });
    const out = new Array<Buffer | null>(keys.length).fill(null);
    await Promise.all(
      [...groups.values()].map(async (indices) => {
        const values = await this.redis.mgetBuffer(...indices.map((i) => keys[i] ?? ''));
        indices.forEach((idx, j) => (out[idx] = values[j] ?? null));
      }),
    );
    return out;
  }

  /** Stores entries with the TTL, without making anyone wait; failures only cost future misses. */
  write(entries: ReadonlyArray<readonly [string, Buffer]>): void {
    // A client still making its first connection takes the write (it is sent once connected);
    // one that lost its connection does not (it could sit in ioredis' offline queue for long).
    const status = this.redis.status;
    if (entries.length === 0 || status === 'reconnecting' || status === 'close' || status === 'end' || status === 'disconnecting') return;
    if (this.pendingWrites + entries.length > MAX_PENDING_WRITES) {
      this.events.onError('unavailable', `${this.pendingWrites} writes already in flight; dropping ${entries.length}`);
      return;
    }
    const groups = new Map<string, Array<readonly [string, Buffer]>>();
    for (const e of entries) {
      const tag = this.isCluster ? tagOf(e[0]) : '';
      const g = groups.get(tag);
      if (g) g.push(e);
      else groups.set(tag, [e]);
    }
    for (const group of groups.values()) {
      const pipeline = this.redis.pipeline();
      for (const [key, value] of group) pipeline.set(key, value, 'EX', this.ttlSeconds);
      this.pendingWrites += group.length;
      pipeline
        .exec()
        .then((results) => {
          const failed = results?.find(([err]) => err);
          if (failed?.[0]) this.events.onError('error', failed[0].message);
        })
        .catch((err: unknown) => this.events.onError('error', err instanceof Error ? err.message : String(err)))
        .finally(() => (this.pendingWrites -= group.length));
    }
  }
}
