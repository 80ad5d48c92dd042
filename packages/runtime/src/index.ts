export { createLotaRuntime, LotaRuntime } from './runtime.js';
export type { RuntimeHealth, RuntimeDisconnectOptions } from './runtime.js';
export type { LotaRuntimeConfig, WorkerConfig, ExtraWorkerConfig } from './config.js';
export type { RuntimeEmbeddings } from './embeddings.js';
export { LotaError, ConfigError, NotConnectedError, NotConfiguredError, InvalidArgumentError, RedisUnreachableError } from './errors.js';
export type { RuntimeErrorCode } from './errors.js';

// What a host needs from the composed packages, so it can depend on @lota/runtime alone.
export type { RedisConfig, RedisHealth, Logger } from '@lota/redis-connection';
export { RedisConnectionManager } from '@lota/redis-connection';
export { BUILT_IN_QUEUES, runChunked, UnrecoverableError, LotaQueues, Job } from '@lota/queues';
export { JobValidationError, EnqueueTimeoutError, EnqueueNotReplicatedError, QueuesClosedError, WorkerExistsError, JobLockLostError } from '@lota/queues';
export type {
  BuiltInQueue,
  EnqueueResult,
  EnqueueOptions,
  JobPayload,
  PolicyOverrides,
  QueuePolicy,
  Processor,
  ChunkProgress,
} from '@lota/queues';
export type { LockAdapter, LockContext, LockOptions, OrgMemoryLock } from '@lota/org-lock';
// The composed packages' own errors, so a host can branch on them with @lota/runtime alone.
export { LockTimeoutError, LockLostError, LockClosedError } from '@lota/org-lock';
export type { EmbeddingProvider, EmbeddingCacheStats } from '@lota/embedding-cache';
export { EmbeddingCache, ProviderInvalidError } from '@lota/embedding-cache';
