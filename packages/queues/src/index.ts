export { createQueues, LotaQueues } from './lota-queues.js';
export type { EnqueueResult } from './enqueue-transaction.js';
export type {
  EnqueueOptions,
  EnqueueBulkOptions,
  RegisterWorkerOptions,
  RegisteredWorker,
  CloseOptions,
  MemoryExtractionData,
  ContextCompactionData,
  RepoIndexingData,
  MemoryDigestData,
} from './public-types.js';
export type { CreateQueuesOptions, QueuesSettings, ResolvedQueuesOptions, KeepJobs, OptionIssue, OptionsResult } from './options.js';
export { resolveQueuesOptions, DEFAULTS as QUEUES_DEFAULTS } from './options.js';
export { resolveWorkerOptions, MAX_CONCURRENCY } from './worker-options.js';
export { BUILT_IN_QUEUES, BUILT_IN_POLICIES, DEFAULT_POLICY } from './policies.js';
export type { BuiltInQueue, QueuePolicy, PolicyOverrides } from './policies.js';
export type { JobPayload } from './job-data.js';
export { encodeKeyParts } from './dedupe-key.js';
export { queuePrefix } from './hash-tag.js';
export { runChunked } from './chunked.js';
export type { ChunkProgress } from './chunked.js';
export type { Logger } from '@lota/shared';
export type { Processor } from 'bullmq';
export { Job } from 'bullmq';
/** Throw it from a processor to fail a job at once, without retries (BullMQ's own class). */
export { UnrecoverableError } from 'bullmq';
export {
  LotaError,
  ConfigError,
  JobValidationError,
  InvalidArgumentError,
  RedisUnreachableError,
  EnqueueTimeoutError,
  EnqueueNotReplicatedError,
  QueuesClosedError,
  WorkerExistsError,
  JobLockLostError,
} from './errors.js';
export type { QueuesErrorCode } from './errors.js';
