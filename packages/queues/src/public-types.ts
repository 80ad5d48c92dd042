import type { Processor, Worker, WorkerOptions } from 'bullmq';
import type { JobPayload } from './job-data.js';

/** Options of the generic {@link LotaQueues.enqueue}. */
export interface EnqueueOptions {
  /** Drop this job while another with the same key is waiting, delayed or active. Arrays are encoded part by part. */
  dedupeKey?: string | readonly string[];
  /** Debounce: run once, `debounceMs` after the last call with this `dedupeKey`, with the latest data. */
  debounceMs?: number;
  /**
   * With `debounceMs`: run at the latest this long after the first call of the burst, even while
   * calls keep coming (with the latest data). 0 or left out: no maximum. At least `debounceMs`.
   */
  maxWaitMs?: number;
  /** Run no earlier than this many ms from now. Not with `debounceMs`, which sets the delay itself. */
  delayMs?: number;
  /**
   * Your own job id, for idempotent retries after an `ENQUEUE_TIMEOUT`. An id that already names
   * a job BullMQ keeps is reported `'deduplicated'` and nothing new runs.
   * @defaultValue a random UUID
   */
  jobId?: string;
  /**
   * Durable enqueue for this call: resolve only once `WAIT` confirmed at least this many replicas
   * have the job (0 turns it off for this call). See the queue policy's `waitForReplicas`.
   * @defaultValue the queue policy's `waitForReplicas` (0)
   */
  waitForReplicas?: number;
}

/** Options of {@link LotaQueues.enqueueBulk} for the whole batch. */
export interface EnqueueBulkOptions {
  /**
   * Durable enqueue for the batch: one WAIT after the batch's MULTI must confirm this many replicas.
   * @defaultValue the queue policy's `waitForReplicas` (0)
   */
  waitForReplicas?: number;
}

export interface MemoryExtractionData extends JobPayload {
  workstreamId: string;
  turnId: string;
}
export interface ContextCompactionData extends JobPayload {
  workstreamId: string;
}
export interface RepoIndexingData extends JobPayload {
  repoId: string;
}
export interface MemoryDigestData extends JobPayload {
  workstreamId: string;
}

/** Options of {@link LotaQueues.registerWorker}. */
export interface RegisterWorkerOptions<T extends JobPayload = JobPayload> {
  queue: string;
  /** Jobs this worker runs at once. @defaultValue the queue policy's concurrency */
  concurrency?: number;
  /**
   * Called for each job; throw to fail the attempt. `signal` aborts when the worker is
   * force-closed, and when the job's lock is lost (reason: `JobLockLostError`): another worker
   * may then run the same job, so stop and let it go.
   */
  processor: Processor<T>;
  /**
   * Extra BullMQ worker options (stalledInterval, limiter...). Connection, prefix and concurrency
   * are set for you; `lockDuration` and `maxStalledCount` default to the queue policy's
   * `lockDurationMs` and `maxStalledCount`, and a value here wins.
   */
  workerOptions?: Omit<WorkerOptions, 'connection' | 'prefix' | 'concurrency' | 'autorun'>;
}

/** A running worker. */
export interface RegisteredWorker {
  readonly queue: string;
  readonly concurrency: number;
  /** The BullMQ worker, for anything not wrapped. */
  readonly worker: Worker;
  /** Stops taking jobs, waits for active ones, closes the blocking connection. */
  close(): Promise<void>;
}

export interface CloseOptions {
  /** Time active jobs get to finish before workers are force-closed (their jobs are then retried as stalled). @defaultValue 30_000 */
  timeoutMs?: number;
}
