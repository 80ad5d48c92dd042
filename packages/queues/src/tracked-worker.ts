import { Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { JobPayload } from './job-data.js';
import type { RunTracker } from './job-run.js';

/**
 * A BullMQ Worker that reports every lock renewal to its {@link RunTracker}: which runs hold
 * their lock (and since when, by the send time of the renewal) and which lost it, per token.
 * `extendJobLocks` is BullMQ's public hook through which its lock manager renews locks; the
 * `lockRenewalFailed` event carries only job ids, and nothing at all when the renewal call
 * hangs, which is why the send time and the tokens are taken here.
 */
export class TrackedWorker<T extends JobPayload = JobPayload> extends Worker<T> {
  constructor(
    name: string,
    processor: Processor<T>,
    opts: WorkerOptions,
    private readonly tracker: RunTracker,
  ) {
    super(name, processor, opts);
  }

  override async extendJobLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    const sentAt = Date.now();
    const failed = await super.extendJobLocks(jobIds, tokens, duration);
    this.tracker.renewed(jobIds, tokens, failed, sentAt);
    return failed;
  }
}
