import type { Job } from 'bullmq';
import { JobLockLostError } from './errors.js';

/**
 * How long before the lock can first expire in Redis a run whose renewals stopped is aborted:
 * a tenth of the lock (at most 1 s), so the abort lands before any other worker can take the
 * job (that needs the expiry and then a stalled check) even with a timer that fires late.
 */
function leaseMargin(lockDurationMs: number): number {
  return Math.min(1_000, Math.floor(lockDurationMs / 10));
}

/** One processor run of one job in a worker registered by this package. */
export interface JobRun {
  readonly queue: string;
  readonly jobId: string;
  /** The lock token BullMQ gave this run. */
  readonly token: string;
  /** The worker's lock duration, to extend the lock with when checking it. */
  readonly lockDurationMs: number;
  /** Aborted on shutdown (BullMQ's signal) and when the lock is lost. */
  readonly signal: AbortSignal;
  /** The lock was set or extended by a command sent at `sentAt` (local clock): it holds until at least `sentAt + lockDurationMs`. */
  confirmed(sentAt: number): void;
  /** Aborts this run's signal with a {@link JobLockLostError}; returns it. */
  lose(how: string): JobLockLostError;
}

// Jobs run by a registered worker, so runChunked can find the run of the job it is given.
const runs = new WeakMap<Job, JobRun>();

/** The run of `job` when it is being processed by a worker registered with this package. */
export function runOf(job: Job): JobRun | undefined {
  return runs.get(job);
}

/**
 * The live runs of one worker. A run's signal is aborted as soon as the worker can tell that
 * the job's lock may be gone, since another worker may then run the same job:
 * - a lock renewal reports this run's token as not holding the lock (expired or taken);
 * - no renewal of this run's lock has been confirmed for almost `lockDurationMs` (a worker cut
 *   off from Redis, or a Redis that does not answer: the renewal call just waits, and BullMQ
 *   reports nothing). The local lease is counted from the moment each confirmed renewal was
 *   sent, so it ends before the lock can expire in Redis;
 * - the same job starting again in this worker (BullMQ only hands a job out again once its
 *   previous lock is gone; it tracks one run per job id itself and would lose the old one).
 * runChunked also checks the lock in Redis between chunks, which catches at once what the
 * timers see late: an event loop blocked past the lock's expiry (see chunked.ts).
 */
export class RunTracker {
  private readonly live = new Map<string, Set<JobRun>>();

  constructor(
    private readonly queue: string,
    private readonly onLost: (run: JobRun, how: string) => void,
  ) {}

  /** Registers a run; its signal combines BullMQ's (shutdown) with lock loss. Call `end()` when it settles. */
  begin(job: Job, token: string, lockDurationMs: number, bullSignal: AbortSignal | undefined): { run: JobRun; end: () => void } {
    const jobId = job.id ?? '';
    const queue = this.queue;
    const onLost = this.onLost;
    const controller = new AbortController();
    const signal = bullSignal ? AbortSignal.any([bullSignal, controller.signal]) : controller.signal;
    // BullMQ stamps processedOn with the worker's clock just before it sets the lock.
    let validUntil = (job.processedOn ?? Date.now()) + lockDurationMs;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      if (controller.signal.aborted) return;
      watchdog = setTimeout(() => run.lose(`no renewal confirmed within ${lockDurationMs} ms: Redis unreachable or not answering`), Math.max(0, validUntil - leaseMargin(lockDurationMs) - Date.now()));
      // Nobody awaits this timer; it must not keep a process alive on its own.
      watchdog.unref();
    };
    const run: JobRun = {
      queue,
      jobId,
      token,
      lockDurationMs,
      signal,
      confirmed(sentAt) {
        if (sentAt + lockDurationMs <= validUntil) return;
        validUntil = sentAt + lockDurationMs;
        arm();
      },
      lose(how) {
        clearTimeout(watchdog);
        const reason = controller.signal.reason instanceof JobLockLostError ? controller.signal.reason : new JobLockLostError(queue, jobId, how);
        if (!controller.signal.aborted) {
          controller.abort(reason);
          onLost(run, how);
        }
        return reason;
      },
    };
    const previous = this.live.get(jobId);
    if (previous) for (const old of previous) old.lose('the job was handed out again, so its earlier lock had expired');
    const set = previous ?? new Set<JobRun>();
    set.add(run);
    this.live.set(jobId, set);
    runs.set(job, run);
    arm();
    return {
      run,
      end: () => {
        clearTimeout(watchdog);
        set.delete(run);
        if (set.size === 0 && this.live.get(jobId) === set) this.live.delete(jobId);
      },
    };
  }

  /** The outcome of one lock renewal sent at `sentAt`: `failed` lists the job ids whose token did not hold the lock. */
  renewed(jobIds: readonly string[], tokens: readonly string[], failed: readonly string[], sentAt: number): void {
    jobIds.forEach((jobId, i) => {
      for (const run of this.live.get(jobId) ?? []) {
        if (run.token !== tokens[i]) continue;
        if (failed.includes(jobId)) run.lose('lock renewal failed: it had expired or was taken');
        else run.confirmed(sentAt);
      }
    });
  }
}
