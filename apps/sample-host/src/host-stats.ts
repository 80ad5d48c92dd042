import type { EmbeddingCacheStats } from '@lota/runtime';
import type { HostKeys, HostRedis } from './keys.js';

export type JobOutcome = 'completed' | 'retried' | 'failed';

/** One wait for an org's memory lock, as recorded by a worker. */
export interface LockWait {
  id: string;
  orgId: string;
  ms: number;
}

/** Every cross-process counter at one moment: what `/metrics` exposes and the demo prints. */
export interface HostStatsSnapshot {
  /** queue -> outcome -> attempts. */
  jobs: Record<string, Record<JobOutcome, number>>;
  /** orgId -> most holders ever inside that org's memory lock at once. */
  maxHolders: Record<string, number>;
  /** The workers' embedding-cache counters, summed, and `requests`: embed() calls the workers made (each would be a provider call without the cache). */
  cache: Pick<EmbeddingCacheStats, 'hits' | 'misses' | 'memoryHits' | 'providerCalls' | 'errors' | 'coalesced' | 'writesDropped'> & { requests: number };
  /** What the embedding provider itself saw. */
  provider: { calls: number; texts: number };
  /** Fenced memory-store writes. */
  store: { accepted: number; refused: number; added: number };
  /** Lock waits recorded so far. */
  lockWaitCount: number;
}

const CACHE_FIELDS = ['hits', 'misses', 'memoryHits', 'providerCalls', 'errors', 'coalesced', 'writesDropped'] as const;
const OUTCOMES: readonly JobOutcome[] = ['completed', 'retried', 'failed'];
/** Lock waits kept in the stream (approximately; older ones are trimmed). */
const LOCK_WAITS_KEPT = 100_000;

/** KEYS: max-holders hash. ARGV: orgId, holders now. Keeps the largest value seen. */
/**
 * Counts a holder in: KEYS[1] holders zset (holder -> lease end, ms), KEYS[2] max-holders hash;
 * ARGV[1] org, ARGV[2] holder id, ARGV[3] lease ms. A holder whose process died inside the lock
 * never leaves; its entry lapses with its lease, so it cannot inflate the count for the next one.
 */
const ENTER_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
local holders = redis.call('ZCARD', KEYS[1])
local seen = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if holders > seen then redis.call('HSET', KEYS[2], ARGV[1], holders) end
return holders
`;

function num(v: string | undefined): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Counters that must add up across processes (workers run in their own processes, the API
 * serves `/metrics`), so they live in Redis: job outcomes, lock waits, lock holders, cache and
 * provider counters, fenced writes.
 */
export class HostStats {
  private lastCache: Record<(typeof CACHE_FIELDS)[number], number> = { hits: 0, misses: 0, memoryHits: 0, providerCalls: 0, errors: 0, coalesced: 0, writesDropped: 0 };

  constructor(
    private readonly redis: HostRedis,
    private readonly keys: HostKeys,
  ) {}

  /** Counts one job attempt's outcome. */
  async recordJobOutcome(queue: string, outcome: JobOutcome): Promise<void> {
    await this.redis.hincrby(this.keys.jobOutcomes, `${queue}|${outcome}`, 1);
  }

  /** Records how long a job waited for an org's memory lock. */
  async recordLockWait(orgId: string, ms: number): Promise<void> {
    await this.redis.xadd(this.keys.lockWaits, 'MAXLEN', '~', LOCK_WAITS_KEPT, '*', 'ms', ms.toFixed(3), 'org', orgId);
  }

  /** Lock waits recorded after `afterId` (exclusive), oldest first, at most `count`. */
  async lockWaits(afterId = '-', count = 10_000): Promise<LockWait[]> {
    const start = afterId === '-' ? '-' : `(${afterId}`;
    const entries = await this.redis.xrange(this.keys.lockWaits, start, '+', 'COUNT', count);
    return entries.map(([id, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return { id, orgId: f.org ?? '', ms: num(f.ms) };
    });
  }

  /**
   * Call first thing inside the org lock: counts this holder in and keeps the maximum seen.
   * Returns the holders now. Rejects only when nothing was counted, so a `finally` that calls
   * `leaveLock` after it resolved is always balanced.
   */
  async enterLock(orgId: string, holder: string, leaseMs: number): Promise<number> {
    return (await this.redis.eval(ENTER_SCRIPT, 2, this.keys.holders(orgId), this.keys.maxHolders, orgId, holder, leaseMs)) as number;
  }

  /** Call last thing inside the org lock (in a `finally`). */
  async leaveLock(orgId: string, holder: string): Promise<void> {
    await this.redis.zrem(this.keys.holders(orgId), holder);
  }

  /** Counts one embed() request and adds what this process's embedding cache counted since the last call. */
  async recordEmbedding(stats: EmbeddingCacheStats): Promise<void> {
    const tx = this.redis.multi().hincrby(this.keys.cacheStats, 'requests', 1);
    const next = { ...this.lastCache };
    for (const field of CACHE_FIELDS) {
      const delta = stats[field] - this.lastCache[field];
      next[field] = stats[field];
      if (delta !== 0) tx.hincrby(this.keys.cacheStats, field, delta);
    }
    this.lastCache = next; // before the await: concurrent calls never count a delta twice
    await tx.exec();
  }

  /** Reads every counter (a few round trips, pipelined). */
  async snapshot(): Promise<HostStatsSnapshot> {
    const res = await this.redis
      .multi()
      .hgetall(this.keys.jobOutcomes)
      .hgetall(this.keys.maxHolders)
      .hgetall(this.keys.cacheStats)
      .hgetall(this.keys.providerStats)
      .hgetall(this.keys.storeStats)
      .xlen(this.keys.lockWaits)
      .exec();
    const value = (i: number): unknown => {
      const entry = res?.[i];
      if (!entry) return undefined;
      if (entry[0]) throw entry[0];
      return entry[1];
    };
    const hash = (i: number) => (value(i) ?? {}) as Record<string, string>;
    const jobs: HostStatsSnapshot['jobs'] = {};
    for (const [field, v] of Object.entries(hash(0))) {
      const [queue = '', outcome = ''] = field.split('|');
      if (!(OUTCOMES as readonly string[]).includes(outcome)) continue;
      jobs[queue] ??= { completed: 0, retried: 0, failed: 0 };
      jobs[queue][outcome as JobOutcome] = num(v);
    }
    const maxHolders = Object.fromEntries(Object.entries(hash(1)).map(([org, v]) => [org, num(v)]));
    const c = hash(2);
    const p = hash(3);
    const s = hash(4);
    return {
      jobs,
      maxHolders,
      cache: { requests: num(c.requests), hits: num(c.hits), misses: num(c.misses), memoryHits: num(c.memoryHits), providerCalls: num(c.providerCalls), errors: num(c.errors), coalesced: num(c.coalesced), writesDropped: num(c.writesDropped) },
      provider: { calls: num(p.calls), texts: num(p.texts) },
      store: { accepted: num(s.accepted), refused: num(s.refused), added: num(s.added) },
      lockWaitCount: Number(value(5) ?? 0),
    };
  }
}
