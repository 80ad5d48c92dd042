import type { Job } from 'bullmq';

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
 */
export async function runChunked(
  job: Job,
  total: number,
  runChunk: (index: number, signal: AbortSignal | undefined) => Promise<void>,
  signal?: AbortSignal,
): Promise<ChunkProgress> {
  if (!Number.isInteger(total) || total < 0) throw new TypeError(`runChunked: total must be a whole number >= 0, got ${total}`);
  const previous = readProgress(job);
  const start = previous && previous.total === total ? previous.completed : 0;
  for (let index = start; index < total; index++) {
    signal?.throwIfAborted();
    await runChunk(index, signal);
    await job.updateProgress({ completed: index + 1, total } satisfies ChunkProgress);
  }
  return { completed: total, total };
}
