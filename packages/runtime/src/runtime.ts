import { createEmbeddingCache, type EmbeddingCache, type EmbeddingCacheStats } from '@lota/embedding-cache';
import { createOrgMemoryLock, createRedisLock, type OrgMemoryLock, type RedisLock } from '@lota/org-lock';
import { createQueues, type LotaQueues } from '@lota/queues';
import { createRedisConnectionManager, type RedisConnectionManager, type RedisHealth } from '@lota/redis-connection';
import { validateRuntimeConfig, type LotaRuntimeConfig } from './config.js';
import { runtimeEmbeddings, type RuntimeEmbeddings } from './embeddings.js';
import { RuntimeNotConnectedError } from './errors.js';

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
  /** Total budget: workers finish active jobs first, then queues, locks and Redis close. @defaultValue 10_000 */
  timeoutMs?: number;
}

interface Parts {
  queues: LotaQueues;
  lock: RedisLock | undefined;
  locks: OrgMemoryLock;
  cache: EmbeddingCache;
  embeddings: RuntimeEmbeddings;
}

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
  private readonly config: LotaRuntimeConfig;
  private parts: Parts | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Set once disconnect() has closed the queues: until then, jobs it lets finish may use every part. */
  private closed = false;

  constructor(config: LotaRuntimeConfig) {
    this.config = validateRuntimeConfig(config);
    const logger = config.logger;
    this.redis = createRedisConnectionManager({ ...(logger ? { logger } : {}), ...config.redis });
    const cacheRedis = config.aiGateway?.embeddingCacheRedis;
    // A cache-only Redis may (should) evict: no eviction warning there.
    this.cacheRedis = cacheRedis ? createRedisConnectionManager({ ...(logger ? { logger } : {}), warnOnEviction: false, ...cacheRedis }) : undefined;
  }

  /** Connects Redis, builds queues, locks and the cache on its clients, and starts the configured workers. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new RuntimeNotConnectedError('@lota/runtime: connect() after disconnect(); create a new runtime.'));
    this.connecting ??= this.doConnect().catch(async (err: unknown) => {
      this.connecting = undefined;
      await Promise.allSettled([this.redis.disconnect({ timeoutMs: 1_000 }), this.cacheRedis?.disconnect({ timeoutMs: 1_000 })]);
      throw err;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const { config } = this;
    await Promise.all([this.redis.connect(), this.cacheRedis?.connect()]);
    const logger = config.logger;
    const prefix = this.redis.keyPrefix;
    const policies = { ...config.queues?.policies };
    for (const w of config.extraWorkers ?? []) policies[w.queue] ??= {}; // declare host queues
    const queues = createQueues({
      connection: this.redis.getConnectionForBullMQ(),
      prefix: config.queues?.prefix ?? prefix,
      policies,
      ...(config.queues?.enqueueTimeoutMs === undefined ? {} : { enqueueTimeoutMs: config.queues.enqueueTimeoutMs }),
      ...(logger ? { logger } : {}),
    });
    const lockOpts = config.memoryLock ?? {};
    const lock = lockOpts.adapter
      ? undefined
      : createRedisLock({
          clients: this.redis.getConnection(),
          prefix,
          ...(lockOpts.ttlMs === undefined ? {} : { ttlMs: lockOpts.ttlMs }),
          ...(lockOpts.acquireTimeoutMs === undefined ? {} : { acquireTimeoutMs: lockOpts.acquireTimeoutMs }),
          ...(logger ? { logger } : {}),
        });
    const cache = createEmbeddingCache({
      redis: (this.cacheRedis ?? this.redis).getConnection(),
      prefix,
      ...(config.aiGateway?.embeddingCacheTtlSeconds === undefined ? {} : { ttlSeconds: config.aiGateway.embeddingCacheTtlSeconds }),
      ...(logger ? { logger } : {}),
    });
    // Registered on the queues, which keep the list (health() reads queues.workers).
    for (const [queue, w] of Object.entries(config.workers ?? {})) {
      if (w) {
        queues.registerWorker({
          queue,
          processor: w.processor,
          ...(w.concurrency === undefined ? {} : { concurrency: w.concurrency }),
          ...(w.workerOptions ? { workerOptions: w.workerOptions } : {}),
        });
      }
    }
    for (const w of config.extraWorkers ?? []) {
      queues.registerWorker({ queue: w.queue, processor: w.processor, concurrency: w.concurrency, ...(w.workerOptions ? { workerOptions: w.workerOptions } : {}) });
    }
    this.parts = {
      queues,
      lock,
      locks: createOrgMemoryLock(lockOpts.adapter ?? (lock as RedisLock)),
      cache,
      embeddings: runtimeEmbeddings(cache, config.aiGateway?.embeddingProvider),
    };
  }

  private require(what: string): Parts {
    if (this.parts && !this.closed) return this.parts;
    throw new RuntimeNotConnectedError(
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
      let timer: NodeJS.Timeout | undefined;
      queues = await Promise.race([
        parts.queues.counts(),
        new Promise<{ error: string }>((resolve) => {
          timer = setTimeout(() => resolve({ error: `no answer within ${HEALTH_COUNTS_TIMEOUT_MS} ms` }), HEALTH_COUNTS_TIMEOUT_MS);
        }),
      ]).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
      clearTimeout(timer);
    }
    const workers = (parts?.queues.workers ?? []).map((w) => ({ queue: w.queue, concurrency: w.concurrency, running: w.worker.isRunning() }));
    let status: RuntimeHealth['status'] = redis.status;
    if (status === 'ready' && (workers.some((w) => !w.running) || cacheRedis?.status === 'down' || 'error' in queues)) status = 'degraded';
    return { status, redis, ...(cacheRedis ? { cacheRedis } : {}), queues, workers, cache: parts?.cache.stats() };
  }

  /**
   * Stops workers gracefully (active jobs finish, up to ~60% of the budget), closes queues and the
   * lock's subscriber, then every Redis client. Resolves within `timeoutMs` even when Redis is
   * unreachable and leaves no handle open. Idempotent.
   */
  disconnect(opts: RuntimeDisconnectOptions = {}): Promise<void> {
    this.closing ??= this.doDisconnect(opts.timeoutMs ?? 10_000);
    return this.closing;
  }

  private async doDisconnect(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.connecting?.catch(() => undefined);
    const parts = this.parts;
    if (parts) {
      await parts.queues.close({ timeoutMs: Math.floor(timeoutMs * 0.6) });
      this.closed = true;
      await parts.lock?.close({ timeoutMs: Math.max(0, Math.min(500, deadline - Date.now() - 200)) });
    }
    this.closed = true;
    const rest = Math.max(200, deadline - Date.now());
    await Promise.all([this.redis.disconnect({ timeoutMs: rest }), this.cacheRedis?.disconnect({ timeoutMs: rest })]);
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
