import type { EmbeddingProvider } from '@lota/embedding-cache';
import type { LockAdapter } from '@lota/org-lock';
import type { BuiltInQueue, JobPayload, PolicyOverrides, Processor, RegisterWorkerOptions } from '@lota/queues';
import type { Logger, RedisConfig } from '@lota/redis-connection';

/** A worker for a built-in queue. */
export interface WorkerConfig {
  processor: Processor<JobPayload>;
  /** @defaultValue the queue policy's concurrency */
  concurrency?: number;
  /** BullMQ worker options (lockDuration, stalledInterval, maxStalledCount, limiter...). */
  workerOptions?: RegisterWorkerOptions['workerOptions'];
}

/** A worker for one of the host's own queues. */
export interface ExtraWorkerConfig {
  queue: string;
  concurrency: number;
  processor: Processor<JobPayload>;
  /** BullMQ worker options (lockDuration, stalledInterval, maxStalledCount, limiter...). */
  workerOptions?: RegisterWorkerOptions['workerOptions'];
}

/** Configuration of {@link createLotaRuntime}. */
export interface LotaRuntimeConfig {
  /** The Redis for queues and locks (should be `noeviction`). */
  redis: RedisConfig;
  aiGateway?: {
    /** Embeddings go through the cache to this provider (`runtime.embeddings`). */
    embeddingProvider?: EmbeddingProvider;
    /** Lifetime of a cached vector (`ttlSeconds` of @lota/embedding-cache). @defaultValue `EMBEDDING_CACHE_DEFAULTS.ttlSeconds` of @lota/embedding-cache */
    embeddingCacheTtlSeconds?: number;
    /** A separate Redis for the cache (an LRU policy is fine there). @defaultValue the `redis` one */
    embeddingCacheRedis?: RedisConfig;
  };
  queues?: {
    /** Namespace of queue keys. @defaultValue `redis.keyPrefix` */
    prefix?: string;
    /**
     * Per-queue overrides of the built-in policies (`maxRetries`, `backoffDelayMs`, `concurrency`,
     * `debounceMs`, `maxWaitMs`, `lockDurationMs`, `maxStalledCount`, and the durable enqueue's `waitForReplicas`
     * and `waitForReplicasTimeoutMs`), validated by @lota/queues' own resolver at `createLotaRuntime()`.
     */
    policies?: PolicyOverrides;
    /** @defaultValue `QUEUES_DEFAULTS.enqueueTimeoutMs` of @lota/queues */
    enqueueTimeoutMs?: number;
  };
  /**
   * Workers for built-in queues, started by `connect()`. A producer-only process configures none.
   * One worker per queue: a queue named here and in `extraWorkers` is a `CONFIG_INVALID`.
   */
  workers?: Partial<Record<BuiltInQueue, WorkerConfig>>;
  /** Workers for host queues; each queue is declared for you. One worker per queue (a repeat is `CONFIG_INVALID`). */
  extraWorkers?: ExtraWorkerConfig[];
  memoryLock?: {
    /** Replaces the Redis lock for both org and workspace memory locks. */
    adapter?: LockAdapter;
    /** Lease length. @defaultValue `LOCK_DEFAULTS.ttlMs` of @lota/org-lock */
    ttlMs?: number;
    /** @defaultValue `LOCK_DEFAULTS.acquireTimeoutMs` of @lota/org-lock */
    acquireTimeoutMs?: number;
  };
  /** pino-compatible logger, handed to every part. */
  logger?: Logger;
}
