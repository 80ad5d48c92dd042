import { raceTimeout, unusableReason } from '@lota/shared';
import type { Cluster, Redis } from 'ioredis';

type Client = Redis | Cluster;

/** Lookups that timed out and are still unanswered; past this, Redis is skipped until one returns (a paused server). */
const MAX_STUCK_LOOKUPS = 8;

/** Tag of a key (`...{xx}...`): keys with one tag share a Cluster slot. */
function tagOf(key: string): string {
  const open = key.indexOf('{');
  return open < 0 ? '' : key.slice(open + 1, key.indexOf('}', open));
}

export type WriteEntry = readonly [key: string, value: Buffer];

export interface StoreEvents {
  onError(kind: 'timeout' | 'unavailable' | 'error', detail: string): void;
  /** `count` entries were not sent to Redis at all (Redis down, or stalled with the write budget full). */
  onDrop(count: number, detail: string): void;
}

export interface VectorStoreOptions {
  ttlSeconds: number;
  /** Bound of a lookup, and how long a write may wait for budget without any write completing. */
  timeoutMs: number;
  /** Bytes of write-back sent but not yet acknowledged, at most (one write larger than this goes alone). */
  maxPendingWriteBytes: number;
}

interface QueuedWrite {
  entries: readonly WriteEntry[];
  bytes: number;
  settled: (entries: readonly WriteEntry[]) => void;
  resolve: () => void;
}

/**
 * Redis side of the cache: one MGET per batch (one per hash tag on a Cluster), each bounded by
 * `timeoutMs`; writes are pipelines the caller does not wait for, within a byte budget.
 * Nothing here ever waits on ioredis' offline queue: a client that is not ready is not used.
 *
 * Write budget (back-pressure): at most `maxPendingWriteBytes` of SETs are unacknowledged at
 * once. A write that does not fit is queued (FIFO) and its caller waits until acknowledgements
 * free enough budget, so a fast producer is slowed to what Redis absorbs and nothing is dropped
 * while Redis is healthy. Redis counts as unhealthy, and writes are dropped (reported through
 * `onDrop`, never silently), only when the client is not connected, or when the budget is full
 * and no write has completed for `timeoutMs` (a paused or partitioned server); then no caller
 * waits longer than that. The first acknowledgement after a stall makes it healthy again.
 */
export class VectorStore {
  private stuck = 0;
  private pendingBytes = 0;
  private readonly queue: QueuedWrite[] = [];
  private stalled = false;
  /** Pipelines sent to and answered by Redis; the stall check compares both across its window. */
  private sent = 0;
  private answers = 0;
  private stallCheck: { timer: NodeJS.Timeout; sent: number; answers: number } | undefined;

  constructor(
    private readonly redis: Client,
    private readonly opts: VectorStoreOptions,
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
    try {
      // One I/O turn before calling it a timeout: after a busy event loop the reply may already sit in the socket.
      const outcome = await raceTimeout(request, this.opts.timeoutMs, { ioTurnFirst: true });
      if (outcome.done) return outcome.value;
      this.stuck++;
      void request.finally(() => this.stuck--).catch(() => undefined);
      this.events.onError('timeout', `no reply within ${this.opts.timeoutMs} ms (timeoutMs)`);
    } catch (err) {
      this.events.onError('error', err instanceof Error ? err.message : String(err));
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

  /**
   * Stores `entries` with the TTL. Returns nothing when the write was sent (or dropped) at once,
   * or a promise the caller awaits when the budget is full: it resolves once the write was sent,
   * or dropped because Redis stopped acknowledging writes for `timeoutMs`. `settled` is called
   * for every entry exactly once: when Redis has answered for it (stored or failed) or when it
   * was dropped; until then the caller may keep serving the vector from memory.
   */
  write(entries: readonly WriteEntry[], settled: (entries: readonly WriteEntry[]) => void): Promise<void> | undefined {
    if (entries.length === 0) return undefined;
    const refusal = this.notWritable();
    if (refusal) {
      this.drop(entries, settled, refusal);
      return undefined;
    }
    let bytes = 0;
    for (const [key, value] of entries) bytes += key.length + value.length;
    if (this.queue.length === 0 && this.fits(bytes)) {
      this.send(entries, bytes, settled);
      return undefined;
    }
    if (this.stalled) {
      this.drop(entries, settled, `the write budget is full and Redis acknowledged no write for ${this.opts.timeoutMs} ms (timeoutMs)`);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.queue.push({ entries, bytes, settled, resolve });
      this.armStallCheck();
    });
  }

  /** Why a write cannot be sent now, or undefined when it can. */
  private notWritable(): string | undefined {
    // A client still making its first connection takes the write (it is sent once connected);
    // one that lost its connection does not (it could sit in ioredis' offline queue for long).
    return unusableReason(this.redis);
  }

  private fits(bytes: number): boolean {
    return this.pendingBytes === 0 || this.pendingBytes + bytes <= this.opts.maxPendingWriteBytes;
  }

  private drop(entries: readonly WriteEntry[], settled: (entries: readonly WriteEntry[]) => void, detail: string): void {
    this.events.onDrop(entries.length, detail);
    settled(entries);
  }

  private send(entries: readonly WriteEntry[], bytes: number, settled: (entries: readonly WriteEntry[]) => void): void {
    this.pendingBytes += bytes;
    // Serialising the pipeline (megabytes for a large chunk) must not delay the caller.
    setImmediate(() => {
      const refusal = this.notWritable();
      if (refusal) {
        this.drop(entries, settled, refusal);
        this.release(bytes, false);
        return;
      }
      const groups = new Map<string, WriteEntry[]>();
      for (const e of entries) {
        const tag = this.isCluster ? tagOf(e[0]) : '';
        const g = groups.get(tag);
        if (g) g.push(e);
        else groups.set(tag, [e]);
      }
      this.sent++;
      for (const group of groups.values()) {
        let groupBytes = 0;
        const pipeline = this.redis.pipeline();
        for (const [key, value] of group) {
          pipeline.set(key, value, 'EX', this.opts.ttlSeconds);
          groupBytes += key.length + value.length;
        }
        pipeline
          .exec()
          .then((results) => {
            const failed = results?.find(([err]) => err);
            if (failed?.[0]) this.events.onError('error', failed[0].message);
          })
          .catch((err: unknown) => this.events.onError('error', err instanceof Error ? err.message : String(err)))
          .finally(() => {
            settled(group);
            this.release(groupBytes, true);
          });
      }
    });
  }

  /** `bytes` of writes are no longer pending (Redis `answered` for them, or they were dropped): queued writes that now fit go. */
  private release(bytes: number, answered: boolean): void {
    this.pendingBytes -= bytes;
    if (answered) {
      this.answers++;
      this.stalled = false;
    }
    for (let next = this.queue[0]; next && this.fits(next.bytes); next = this.queue[0]) {
      this.queue.shift();
      this.send(next.entries, next.bytes, next.settled);
      next.resolve();
    }
    // Progress restarts the stall window; with nothing waiting there is no window.
    if (answered || this.queue.length === 0) this.cancelStallCheck();
    this.armStallCheck();
  }

  /**
   * While writes wait for budget: if Redis answers no write within `timeoutMs`, it is stalled and
   * every waiting write is dropped. The verdict is taken one I/O turn after the timer fires, so a
   * reply already in the socket still counts, and a window in which a write was still leaving
   * this process does not count (the event loop was busy, not Redis). Not unref()'d: callers
   * await the writes it releases.
   */
  private armStallCheck(): void {
    if (this.stallCheck !== undefined || this.queue.length === 0) return;
    const check = {
      sent: this.sent,
      answers: this.answers,
      timer: setTimeout(() => setImmediate(() => this.judgeStall(check)), this.opts.timeoutMs),
    };
    this.stallCheck = check;
  }

  private cancelStallCheck(): void {
    if (this.stallCheck === undefined) return;
    clearTimeout(this.stallCheck.timer);
    this.stallCheck = undefined;
  }

  private judgeStall(check: { sent: number; answers: number }): void {
    if (this.stallCheck !== check) return; // progress restarted the window meanwhile
    this.stallCheck = undefined;
    // Redis answered, or a write only just left this process (the event loop was busy): no verdict yet.
    if (this.answers !== check.answers || this.sent !== check.sent) {
      this.armStallCheck();
      return;
    }
    if (this.queue.length === 0) return;
    this.stalled = true;
    const waiting = this.queue.splice(0);
    for (const w of waiting) {
      this.drop(w.entries, w.settled, `the write budget is full and Redis acknowledged no write for ${this.opts.timeoutMs} ms (timeoutMs)`);
      w.resolve();
    }
  }
}
