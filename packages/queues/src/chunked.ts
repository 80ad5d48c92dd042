import type { Job } from 'bullmq';
import { JobLockLostError } from './errors.js';
import { runOf } from './job-run.js';

/** Progress a chunked job reports: `completed` of `total` chunks done. */
export interface ChunkProgress {
  completed: number;
  total: number;
}

function readProgress(job: Job): ChunkProgress | undefined {
  const p: unknown = job.progress;
  if (typeof p === 'object' && p !== null && typeof (p as ChunkProgress).completed === 'number' && typeof (p as ChunkProgress).total === 'number') {
    return p as ChunkProgress;
  }
  return undefined;
}

/**
 * Runs a long job as `total` chunks, reporting `{ completed, total }` progress after each one.
 * The progress lives in the job, so when an attempt fails (or its worker dies and the job is
 * recovered as stalled) the next attempt starts at the first unfinished chunk instead of at 0.
 * Each chunk must be idempotent: a chunk interrupted mid-way runs again.
 *
 * Lock: for a job run by a worker from `registerWorker`, after every chunk the worker's lock is
 * checked in Redis (and extended) before the chunk is recorded and the next one starts. When
 * the lock is gone (the event loop was blocked longer than `lockDurationMs`, or the worker was
 * cut off from Redis) another worker may already run the job: the processor's signal is
 * aborted, the chunk is not recorded, and this rejects with `JobLockLostError`. It also stops
 * at the next chunk boundary when `signal` (or the run's own signal) aborts. A chunk that
 * ignores its signal runs to its end: keep chunks shorter than `lockDurationMs`.
 */
export async function runChunked(
  job: Job,
  total: number,
  runChunk: (index: number, signal: AbortSignal | undefined) => Promise<void>,
  signal?: AbortSignal,
): Promise<ChunkProgress> {
  if (!Number.isInteger(total) || total < 0) throw new TypeError(`runChunked: total must be a whole number >= 0, got ${total}`);
  const run = runOf(job);
  const signals = [signal, run?.signal].filter((s): s is AbortSignal => s !== undefined);
  const chunkSignal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const previous = readProgress(job);
  const start = previous && previous.total === total ? previous.completed : 0;
  for (let index = start; index < total; index++) {
    chunkSignal?.throwIfAborted();
    await runChunk(index, chunkSignal);
    if (run) {
      // The lock was lost during the chunk: the job may be another worker's now, so this
      // chunk is not recorded as done (the owner runs it again: chunks are idempotent).
      if (run.signal.reason instanceof JobLockLostError) throw run.signal.reason;
      const sentAt = Date.now();
      if ((await job.extendLock(run.token, run.lockDurationMs)) !== 1) throw run.lose(`not held in Redis after chunk ${index}`);
      run.confirmed(sentAt);
    }
    await job.updateProgress({ completed: index + 1, total } satisfies ChunkProgress);
  }
  return { completed: total, total };
}
