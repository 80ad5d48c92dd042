/**
 * What the driver hands each worker process (as JSON in SOAK_WORKER_CONFIG): one object, so the
 * driver and its workers can never disagree about a setting.
 */
export interface WorkerConfig {
  redisUrl: string;
  /** Namespace of the runtime's keys (queues, lock, cache) and of the soak's own data. */
  keyPrefix: string;
  /** Jobs one worker process runs at once per queue. */
  extractionConcurrency: number;
  digestConcurrency: number;
  /** Debounce window of `scheduleMemoryDigest`. */
  digestDebounceMs: number;
  /** BullMQ job lock: a killed worker's active jobs are stalled once it runs out. */
  lockDurationMs: number;
  /** How often BullMQ's stalled-job check runs (recovery takes at most lockDuration + stalledInterval). */
  stalledIntervalMs: number;
  /** Times a job may be recovered from stalled before BullMQ fails it. */
  maxStalledCount: number;
  /** Org memory lock lease (a killed holder's org is free again after at most this). */
  orgLockTtlMs: number;
  orgLockAcquireTimeoutMs: number;
  /** Simulated model time per extraction, outside the lock: uniform in [min, max]. */
  modelDelayMinMs: number;
  modelDelayMaxMs: number;
  /** Simulated store/index time inside the org lock, after embedding: uniform in [min, max]. */
  inLockDelayMinMs: number;
  inLockDelayMaxMs: number;
  /** Simulated latency of one embedding-provider call. */
  embeddingLatencyMs: number;
  embeddingDimensions: number;
  /** How often the worker reports process.memoryUsage() to the driver. */
  memorySampleMs: number;
  /** Budget of a graceful shutdown (SIGTERM or the driver going away). */
  shutdownTimeoutMs: number;
  /**
   * Self-check of the checks: run the "locked" section without the org lock (a fencing token
   * from the harness clock instead). The run must then report overlaps and fail.
   */
  unsafeNoLock: boolean;
}

/**
 * Control messages a worker sends the driver (`sendMessage` of @lota/fault-harness: stdout lines
 * beside its history lines); its logs go to stderr.
 */
export type WorkerMessage =
  | { event: 'ready'; worker: string; pid: number }
  | {
      event: 'mem';
      worker: string;
      /** Date.now() when sampled. */
      t: number;
      /** True when the sample was taken right after a full GC (`--expose-gc`). */
      gc: boolean;
      rss: number;
      heapUsed: number;
      heapTotal: number;
      external: number;
      arrayBuffers: number;
      /** Jobs this process started and finished (successfully) so far, per queue. */
      jobs: { extractionStarted: number; extractionDone: number; digestDone: number; failedAttempts: number };
      /** This process's embedding-cache counters (runtime.embeddings.stats()). */
      cache: { hits: number; misses: number; memoryHits: number; providerCalls: number; errors: number };
    };

export type MemMessage = Extract<WorkerMessage, { event: 'mem' }>;

export const WORKER_CONFIG_ENV = 'SOAK_WORKER_CONFIG';
export const WORKER_NAME_ENV = 'SOAK_WORKER_NAME';
