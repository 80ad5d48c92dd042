import { ConfigError, errorClass, InvalidArgumentError, LotaError, RedisUnreachableError } from '@lota/shared';
import type { EnqueueResult } from './enqueue-transaction.js';

/**
 * Every error of `@lota/queues` is a {@link LotaError}: a literal `name`, a stable `code`, the
 * underlying error as `cause`. Messages name the package, the field or option, and the fix.
 * Shared with the other packages (one class per code): {@link ConfigError} (`createQueues`
 * options or a policy override are wrong), {@link InvalidArgumentError} (an unknown queue
 * name, a bad concurrency), {@link RedisUnreachableError} (Redis cannot take the job: the
 * connection is not ready and nothing was sent, or Redis failed the add, then `jobId` is set
 * and a retry with it cannot create a duplicate).
 */
export { ConfigError, InvalidArgumentError, LotaError, RedisUnreachableError };

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

/** Job data was refused at the call site: nothing reached Redis. `field` is the dot path of the problem. */
export class JobValidationError extends errorClass('JOB_INVALID', 'JobValidationError') {
  readonly queue: string;
  readonly field: string;
  constructor(queue: string, field: string, problem: string) {
    super(`@lota/queues: job for '${queue}' refused: ${field} ${problem}. Nothing was enqueued.`);
    this.queue = queue;
    this.field = field;
  }
}

/**
 * The add was sent but Redis did not answer within `enqueueTimeoutMs` (a paused or partitioned
 * server). The job may or may not exist: retrying with the same `jobId` (or the same dedupe key)
 * cannot create a duplicate.
 */
export class EnqueueTimeoutError extends errorClass('ENQUEUE_TIMEOUT', 'EnqueueTimeoutError') {
  readonly queue: string;
  readonly jobId: string;
  constructor(queue: string, jobId: string, timeoutMs: number) {
    super(
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
export class EnqueueNotReplicatedError extends errorClass('ENQUEUE_NOT_REPLICATED', 'EnqueueNotReplicatedError') {
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
export class QueuesClosedError extends errorClass('QUEUES_CLOSED', 'QueuesClosedError') {
  constructor(method: string) {
    super(`@lota/queues: ${method}() was called after close(); create a new instance with createQueues().`);
  }
}

/**
 * `registerWorker` was called for a queue that already has a worker on this instance. Two
 * workers would run two processors and double the queue's concurrency. Closing the first
 * worker frees the queue.
 */
export class WorkerExistsError extends errorClass('WORKER_EXISTS', 'WorkerExistsError') {
  readonly queue: string;
  constructor(queue: string, concurrency: number, closing: boolean) {
    super(
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
export class JobLockLostError extends errorClass('JOB_LOCK_LOST', 'JobLockLostError') {
  readonly queue: string;
  readonly jobId: string;
  constructor(queue: string, jobId: string, how: string) {
    super(
      `@lota/queues: job '${jobId}' of '${queue}' lost its lock (${how}); another worker may be running it now, so this run was aborted. ` +
        `If no worker or Redis failed, raise policies['${queue}'].lockDurationMs above the longest time a processor blocks the event loop.`,
    );
    this.queue = queue;
    this.jobId = jobId;
  }
}
