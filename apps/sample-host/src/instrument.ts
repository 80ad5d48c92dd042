import type { Job, JobPayload, Processor } from '@lota/runtime';
import type { HostStats, JobOutcome } from './host-stats.js';

/** True when BullMQ will not run this job again after this attempt fails. */
function lastAttempt(job: Job, err: unknown): boolean {
  if (err instanceof Error && err.name === 'UnrecoverableError') return true;
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Counts every attempt's outcome in Redis (completed; failed and retried later; failed for good),
 * so the API process can expose job outcomes of workers that run elsewhere. The count never
 * changes the job's result: a counter that cannot be written is skipped.
 */
export function instrument(queue: string, stats: () => HostStats, processor: Processor<JobPayload>): Processor<JobPayload> {
  const count = (outcome: JobOutcome) => stats().recordJobOutcome(queue, outcome).catch(() => undefined);
  return async (job, token, signal) => {
    try {
      const result: unknown = await processor(job, token, signal);
      await count('completed');
      return result;
    } catch (err) {
      await count(lastAttempt(job, err) ? 'failed' : 'retried');
      throw err;
    }
  };
}
