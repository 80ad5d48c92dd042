import { createEmbeddingCache, type EmbeddingCache, type EmbeddingCacheStats } from '@lota/embedding-cache';
import { createOrgMemoryLock, createRedisLock, type OrgMemoryLock, type RedisLock } from '@lota/org-lock';
import { createQueues, type LotaQueues } from '@lota/queues';
import { createRedisConnectionManager, type RedisConnectionManager, type RedisHealth } from '@lota/redis-connection';
import type { LotaRuntimeConfig } from './config.js';
import { DEFAULTS, resolveRuntimeOptions, type ResolvedRuntimeOptions } from './options.js';
import { runtimeEmbeddings, type RuntimeEmbeddings } from './embeddings.js';
import { raceTimeout, settleWithin } from '@lota/shared';
import { ConfigError, NotConnectedError } from './errors.js';

/** What `runtime.health()` reports. */
export interface RuntimeHealth {
  /** `ready`: Redis answers and every configured worker runs; `degraded`: something is reconnecting; `down`: Redis does not answer. */
  status: 'ready' | 'degraded' | 'down' | 'idle' | 'closed';
  redis: RedisHealth;
  /** The cache Redis, when it is a separate one. */
  cacheRedis?: RedisHealth;
  /** Job counts per queue, or the reason they could not be read. */
  queues: Record<string, Record<string, number>> | { error: string };
  workers: Array<{ queue: string; concurrency: number; running: boolean }>;
  cache: EmbeddingCacheStats | undefined;
}

export interface RuntimeDisconnectOptions {
  /** Total budget: workers finish active jobs first, then queues, locks and Redis close. @defaultValue `DEFAULTS.disconnectTimeoutMs` (10_000) */
  timeoutMs?: number;
}

interface Parts {
  queues: LotaQueues;
  lock: RedisLock | undefined;
  locks: OrgMemoryLock;
  cache: EmbeddingCache;
  embeddings: RuntimeEmbeddings;
}

/** Share of the `disconnect()` budget workers get to finish active jobs (the rest closes Redis cleanly). */
const QUEUES_SHARE = 0.6;
/** Share of the `disconnect()` budget for the lock's subscriber (a QUIT), capped: it needs one round trip. */
const LOCK_SHARE = 0.1;
const LOCK_CLOSE_MAX_MS = 500;
/**
 * Redis always gets at least this: the manager needs ~110 ms to hard-close sockets that did not
 * answer QUIT (ioredis' destroy timer), plus room for a QUIT round trip.
 */
const MIN_REDIS_CLOSE_MS = 200;
/** What each stage's own bound leaves of the runtime's bound for that stage (timer jitter on a busy box). */
const STAGE_SLACK_MS = 25;

/** How long `health()` waits for queue counts (they use the BullMQ client, which waits for Redis). */
const HEALTH_COUNTS_TIMEOUT_MS = 2_000;

/**
 * The Lota runtime: one connection manager (plus an optional cache Redis), the SDK's queues and
 * workers, the memory locks and the embedding cache, all over that manager's clients.
 */
export class LotaRuntime implements AsyncDisposable {
  /** The connection manager: `getConnection()`, `getConnectionForBullMQ()`, `health()`. */
  readonly redis: RedisConnectionManager;
  private readonly cacheRedis: RedisConnectionManager | undefined;
  /** Every section, resolved once at creation by the package that owns it. */
  private readonly options: ResolvedRuntimeOptions;
  private parts: Parts | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Set once disconnect() has closed the queues: until then, jobs it lets finish may use every part. */
  private closed = false;

  /**
   * Resolves the whole config (`CONFIG_INVALID` lists every problem by dot path); nothing
   * connects until `connect()`.
   */
  constructor(config: LotaRuntimeConfig) {
    const resolved = resolveRuntimeOptions(config);
    if (!resolved.ok) throw new ConfigError('@lota/runtime: createLotaRuntime()', resolved.issues);
    this.options = resolved.value;
    this.redis = createRedisConnectionManager(this.options.redis);
    this.cacheRedis = this.options.cacheRedis ? createRedisConnectionManager(this.options.cacheRedis) : undefined;
  }

  /** Connects Redis, builds queues, locks and the cache on its clients, and starts the configured workers. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new NotConnectedError('@lota/runtime: connect() after disconnect(); create a new runtime.'));
    this.connecting ??= this.doConnect().catch(async (err: unknown) => {
      this.connecting = undefined;
      await Promise.allSettled([this.redis.disconnect({ timeoutMs: 1_000 }), this.cacheRedis?.disconnect({ timeoutMs: 1_000 })]);
      if (this.closing) {
        throw new NotConnectedError('@lota/runtime: disconnect() was called while connect() was in progress; create a new runtime to connect again.', {
          cause: err,
        });
      }
      throw err;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const { options } = this;
    await Promise.all([this.redis.connect(), this.cacheRedis?.connect()]);
    // The sections were resolved at creation: the parts take them as they are.
    const queues = createQueues(this.redis.getConnectionForBullMQ(), options.queues);
    const lock = options.lockAdapter ? undefined : createRedisLock(this.redis.getConnection(), options.lock);
    const cache = createEmbeddingCache((this.cacheRedis ?? this.redis).getConnection(), options.cache);
    // Registered on the queues, which keep the list (health() reads queues.workers).
    for (const worker of options.workers) queues.registerWorker(worker);
    this.parts = {
      queues,
      lock,
      locks: createOrgMemoryLock(options.lockAdapter ?? (lock as RedisLock)),
      cache,
      embeddings: runtimeEmbeddings(cache, options.embeddingProvider),
    };
  }

  private require(what: string): Parts {
    if (this.parts && !this.closed) return this.parts;
    throw new NotConnectedError(
      this.closed
        ? `@lota/runtime: runtime.${what} was used after disconnect(); create a new runtime.`
        : `@lota/runtime: runtime.${what} was used before connect() resolved; call \`await runtime.connect()\` first.`,
    );
  }

  /** The SDK's queues (built-in and host), on the manager's BullMQ client. */
  get queues(): LotaQueues {
    return this.require('queues').queues;
  }

  /** `withOrgMemoryLock` / `withWorkspaceMemoryLock`: the Redis lock, or `memoryLock.adapter`. */
  get locks(): OrgMemoryLock {
    return this.require('locks').locks;
  }

  /** The configured embedding provider behind the cache. */
  get embeddings(): RuntimeEmbeddings {
    return this.require('embeddings').embeddings;
  }

  /** The embedding cache itself, for other providers. */
  get embeddingCache(): EmbeddingCache {
    return this.require('embeddingCache').cache;
  }

  /** Redis, queue counts, workers and cache counters. Never throws; bounded even when Redis is down. */
  async health(): Promise<RuntimeHealth> {
    const redis = await this.redis.health();
    const cacheRedis = this.cacheRedis ? await this.cacheRedis.health() : undefined;
    const parts = this.closed ? undefined : this.parts;
    let queues: RuntimeHealth['queues'] = { error: 'not connected' };
    if (parts && redis.status !== 'down') {
      queues = await raceTimeout(parts.queues.counts(), HEALTH_COUNTS_TIMEOUT_MS).then(
        (outcome) => (outcome.done ? outcome.value : { error: `no answer within ${HEALTH_COUNTS_TIMEOUT_MS} ms` }),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      );
    }
    const workers = (parts?.queues.workers ?? []).map((w) => ({ queue: w.queue, concurrency: w.concurrency, running: w.worker.isRunning() }));
    let status: RuntimeHealth['status'] = redis.status;
    if (status === 'ready' && (workers.some((w) => !w.running) || cacheRedis?.status === 'down' || 'error' in queues)) status = 'degraded';
    return { status, redis, ...(cacheRedis ? { cacheRedis } : {}), queues, workers, cache: parts?.cache.stats() };
  }

  /**
   * Shuts down in this order: workers stop taking jobs and finish active ones (60% of the
   * budget; then their signals abort and they are force-closed), queues close, the lock's
   * subscriber closes (at most 10%, 500 ms), then every Redis client (the rest, at least 200 ms).
   * Resolves within `timeoutMs` (a budget under 700 ms may take up to 700 ms) even when Redis is
   * unreachable and nothing else holds the event loop, and leaves no handle of its own open. A
   * `connect()` still in progress is stopped (it rejects with `NOT_CONNECTED`), not waited for.
   * Idempotent: later calls return the first call's promise.
   */
  disconnect(opts: RuntimeDisconnectOptions = {}): Promise<void> {
    this.closing ??= this.doDisconnect(opts.timeoutMs ?? DEFAULTS.disconnectTimeoutMs);
    return this.closing;
  }

  private async doDisconnect(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const parts = this.parts;
    const connecting = this.connecting;
    if (connecting && !parts) {
      // connect() is still waiting for Redis (up to connectTimeoutMs): closing the managers makes
      // it reject at once, instead of this call waiting for it past its own bound.
      this.closed = true;
      await this.closeRedis(Math.max(MIN_REDIS_CLOSE_MS, deadline - Date.now()));
      await settleWithin(connecting, deadline - Date.now());
      return;
    }
    if (parts) {
      // Each stage gets its bound minus a little slack, and the runtime stops waiting for it at
      // its bound: the runtime's own bound never depends on a part keeping its word.
      const queuesMs = Math.floor(timeoutMs * QUEUES_SHARE);
      await settleWithin(parts.queues.close({ timeoutMs: Math.max(0, queuesMs - STAGE_SLACK_MS) }), queuesMs);
      this.closed = true;
      if (parts.lock) {
        const lockMs = Math.min(LOCK_CLOSE_MAX_MS, Math.floor(timeoutMs * LOCK_SHARE));
        await settleWithin(parts.lock.close({ timeoutMs: Math.max(0, lockMs - STAGE_SLACK_MS) }), lockMs);
      }
    }
    this.closed = true;
    await this.closeRedis(Math.max(MIN_REDIS_CLOSE_MS, deadline - Date.now()));
  }

  /** Closes both managers within `ms` (each is bounded by itself; this also bounds a close already in flight). */
  private async closeRedis(ms: number): Promise<void> {
    const managerMs = ms - STAGE_SLACK_MS;
    const closing = Promise.all([this.redis.disconnect({ timeoutMs: managerMs }), this.cacheRedis?.disconnect({ timeoutMs: managerMs })]);
    await settleWithin(closing, ms);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }
}

/**
 * Creates the runtime: validates the whole config (`CONFIG_INVALID` lists every problem by dot
 * path) and prepares the connection manager. Nothing connects until `connect()`.
 */
export async function createLotaRuntime(config: LotaRuntimeConfig): Promise<LotaRuntime> {
  return Promise.resolve(new LotaRuntime(config));
}
