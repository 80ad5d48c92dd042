import type { EnqueueResult } from './enqueue-transaction.js';

/** Stable machine-readable codes of every error `@lota/queues` throws. */
export type QueuesErrorCode =
  | 'CONFIG_INVALID'
  | 'JOB_INVALID'
  | 'INVALID_ARGUMENT'
  | 'REDIS_UNREACHABLE'
  | 'ENQUEUE_TIMEOUT'
  | 'ENQUEUE_NOT_REPLICATED'
  | 'QUEUES_CLOSED'
  | 'WORKER_EXISTS'
  | 'JOB_LOCK_LOST';

/**
 * Base of every error thrown by `@lota/queues`: a literal `name`, a stable `code`, the
 * underlying error as `cause`. Messages name the package, the field or option, and the fix.
 */
export class LotaError extends Error {
  override readonly name: string = 'LotaError';
  readonly code: QueuesErrorCode;

  constructor(code: QueuesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `createQueues` options or a policy override are wrong. */
export class QueuesConfigError extends LotaError {
  override readonly name = 'QueuesConfigError';
  declare readonly code: 'CONFIG_INVALID';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Job data was refused at the call site: nothing reached Redis. `field` is the dot path of the problem. */
export class JobValidationError extends LotaError {
  override readonly name = 'JobValidationError';
  declare readonly code: 'JOB_INVALID';
  readonly queue: string;
  readonly field: string;
  constructor(queue: string, field: string, problem: string) {
    super('JOB_INVALID', `@lota/queues: job for '${queue}' refused: ${field} ${problem}. Nothing was enqueued.`);
    this.queue = queue;
    this.field = field;
  }
}

/** An argument that is not job data is wrong: an unknown queue name, a bad concurrency. */
export class InvalidArgumentError extends LotaError {
  override readonly name = 'InvalidArgumentError';
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/**
 * Redis cannot take the job. Either the connection is not ready (down, reconnecting, closed) and
 * nothing was sent, or Redis failed the add (a Cluster failover in progress); then `jobId` is
 * set and a retry with it cannot create a duplicate.
 */
export class RedisUnavailableError extends LotaError {
  override readonly name = 'RedisUnavailableError';
  declare readonly code: 'REDIS_UNREACHABLE';
  readonly jobId: string | undefined;
  constructor(message: string, options?: { cause?: unknown; jobId?: string }) {
    super('REDIS_UNREACHABLE', message, options);
    this.jobId = options?.jobId;
  }
}

/**
 * The add was sent but Redis did not answer within `enqueueTimeoutMs` (a paused or partitioned
 * server). The job may or may not exist: retrying with the same `jobId` (or the same dedupe key)
 * cannot create a duplicate.
 */
export class EnqueueTimeoutError extends LotaError {
  override readonly name = 'EnqueueTimeoutError';
  declare readonly code: 'ENQUEUE_TIMEOUT';
  readonly queue: string;
  readonly jobId: string;
  constructor(queue: string, jobId: string, timeoutMs: number) {
    super(
      'ENQUEUE_TIMEOUT',
      `@lota/queues: Redis did not acknowledge the job for '${queue}' within ${timeoutMs} ms (enqueueTimeoutMs). ` +
        `It may or may not have been enqueued; retry with jobId '${jobId}' (or the same dedupe key) to be safe from duplicates.`,
    );
    this.queue = queue;
    this.jobId = jobId;
  }
}

/**
 * A durable enqueue (`waitForReplicas`): the job WAS added on the master (`results` says what
 * each add did there), but `WAIT` did not confirm it on enough replicas within the timeout (a
 * replica down, lagging or paused; none configured; or the WAIT itself failed, see `cause`).
 * The job is not lost and will run, unless the master fails before a replica gets it. Retrying
 * with the same `jobId` (or the same dedupe key) is safe: it cannot create a duplicate, and it
 * waits for the replicas again.
 */
export class EnqueueNotReplicatedError extends LotaError {
  override readonly name = 'EnqueueNotReplicatedError';
  declare readonly code: 'ENQUEUE_NOT_REPLICATED';
  readonly queue: string;
  /** The job of the (first) add: for a deduplicated call, the job kept for its key. */
  readonly jobId: string;
  /** What each add did on the master (one per job; several for `enqueueBulk`). */
  readonly results: readonly EnqueueResult[];
  /** Replicas asked for (`waitForReplicas`). */
  readonly replicasRequired: number;
  /** Replicas that confirmed within the timeout (WAIT's reply; 0 when the WAIT failed). */
  readonly replicasAcknowledged: number;
  constructor(queue: string, results: readonly EnqueueResult[], required: number, acknowledged: number, timeoutMs: number, cause?: unknown) {
    const [first] = results;
    const jobId = first?.jobId ?? '?';
    const what = results.length > 1 ? `${results.length} jobs (first '${jobId}')` : `job '${jobId}' (status '${first?.status ?? '?'}')`;
    const why =
      cause === undefined
        ? `only ${acknowledged} of the ${required} replica(s) asked for (waitForReplicas) confirmed the add within ${timeoutMs} ms (waitForReplicasTimeoutMs)`
        : `the WAIT for ${required} replica(s) failed (${cause instanceof Error ? cause.message : 'unknown error'})`;
    super(
      'ENQUEUE_NOT_REPLICATED',
      `@lota/queues: ${what} WAS enqueued to '${queue}' on the Redis master, but ${why}. ` +
        `It will run unless the master fails before a replica has it. Retrying with jobId '${jobId}' (or the same dedupe key) is safe: it cannot create a duplicate and waits for the replicas again. ` +
        'If this persists, check that the master has that many replicas connected and keeping up (INFO replication).',
      cause === undefined ? undefined : { cause },
    );
    this.queue = queue;
    this.jobId = jobId;
    this.results = results;
    this.replicasRequired = required;
    this.replicasAcknowledged = acknowledged;
  }
}

/** `close()` was called: no more enqueues or workers on this instance. */
export class QueuesClosedError extends LotaError {
  override readonly name = 'QueuesClosedError';
  declare readonly code: 'QUEUES_CLOSED';
  constructor(method: string) {
    super('QUEUES_CLOSED', `@lota/queues: ${method}() was called after close(); create a new instance with createQueues().`);
  }
}

/**
 * `registerWorker` was called for a queue that already has a worker on this instance. Two
 * workers would run two processors and double the queue's concurrency. Closing the first
 * worker frees the queue.
 */
export class WorkerExistsError extends LotaError {
  override readonly name = 'WorkerExistsError';
  declare readonly code: 'WORKER_EXISTS';
  readonly queue: string;
  constructor(queue: string, concurrency: number, closing: boolean) {
    super(
      'WORKER_EXISTS',
      `@lota/queues: registerWorker('${queue}') refused: this instance already ${closing ? 'is closing a' : 'runs a'} worker for '${queue}' ` +
        `(concurrency ${concurrency}); a second one would double its concurrency. ` +
        (closing
          ? 'Await the close() of the previous worker before registering a new one.'
          : `Register one worker per queue and set its concurrency (registerWorker({ concurrency }) or policies['${queue}'].concurrency), or await close() on the existing worker first.`),
    );
    this.queue = queue;
  }
}

/**
 * The worker no longer holds the lock of the job it is running: the lock was not renewed in
 * time (a processor that blocked the event loop longer than `lockDurationMs`, a worker cut off
 * from Redis) and the job may already run in another worker. It is the `reason` of the
 * processor's aborted `signal`, and what `runChunked` throws at the next chunk boundary.
 */
export class JobLockLostError extends LotaError {
  override readonly name = 'JobLockLostError';
  declare readonly code: 'JOB_LOCK_LOST';
  readonly queue: string;
  readonly jobId: string;
  constructor(queue: string, jobId: string, how: string) {
    super(
      'JOB_LOCK_LOST',
      `@lota/queues: job '${jobId}' of '${queue}' lost its lock (${how}); another worker may be running it now, so this run was aborted. ` +
        `If no worker or Redis failed, raise policies['${queue}'].lockDurationMs above the longest time a processor blocks the event loop.`,
    );
    this.queue = queue;
    this.jobId = jobId;
  }
}
