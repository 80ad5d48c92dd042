export { createLotaRuntime, LotaRuntime } from './runtime.js';
export type { RuntimeHealth, RuntimeDisconnectOptions } from './runtime.js';
export type { LotaRuntimeConfig, WorkerConfig, ExtraWorkerConfig } from './config.js';
export type { RuntimeEmbeddings } from './embeddings.js';
export { LotaError, RuntimeConfigError, RuntimeNotConnectedError, NotConfiguredError } from './errors.js';
export type { RuntimeErrorCode } from './errors.js';

// What a host needs from the composed packages, so it can depend on @lota/runtime alone.
export type { RedisConfig, RedisHealth, RedisConnectionManager, Logger } from '@lota/redis-connection';
export { BUILT_IN_QUEUES, runChunked, UnrecoverableError } from '@lota/queues';
export type {
  BuiltInQueue,
  LotaQueues,
  EnqueueResult,
  EnqueueOptions,
  JobPayload,
  PolicyOverrides,
  QueuePolicy,
  Processor,
  Job,
  ChunkProgress,
} from '@lota/queues';
export type { LockAdapter, LockContext, LockOptions, OrgMemoryLock } from '@lota/org-lock';
export type { EmbeddingProvider, EmbeddingCache, EmbeddingCacheStats } from '@lota/embedding-cache';
