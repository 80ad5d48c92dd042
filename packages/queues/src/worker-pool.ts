import { raceTimeout, settleConnect } from '@lota/shared';
import type { Job, Processor } from 'bullmq';
import { InvalidArgumentError, QueuesClosedError, WorkerExistsError } from './errors.js';
import { queuePrefix } from './hash-tag.js';
import type { JobPayload } from './job-data.js';
import { RunTracker } from './job-run.js';
import type { RegisteredWorker, RegisterWorkerOptions } from './public-types.js';
import type { QueueSet } from './queue-set.js';
import { TrackedWorker } from './tracked-worker.js';
import { resolveWorkerOptions, workerOptionsMessage } from './worker-options.js';

/** A registered worker, plus the graceful half of its shutdown. */
type PooledWorker = RegisteredWorker & {
  /** Stops fetching and waits for the processors already running (not BullMQ's close()). */
  drain(): Promise<void>;
};

/** The workers of one {@link LotaQueues}: at most one per queue, started, drained and closed here. */
export class WorkerPool {
  private readonly registry = new Set<PooledWorker>();
  /** One worker per queue: held from register until that worker's close() settles. */
  private readonly slots = new Map<string, { concurrency: number; closing: boolean }>();

  constructor(private readonly queues: QueueSet) {}

  /** Workers registered and not closed. */
  get workers(): readonly RegisteredWorker[] {
    return [...this.registry];
  }

  /** See {@link LotaQueues.registerWorker}. */
  register<T extends JobPayload = JobPayload>(opts: RegisterWorkerOptions<T>): RegisteredWorker {
    if (this.queues.closing) throw new QueuesClosedError('registerWorker');
    const given: unknown = opts; // JS callers may pass anything
    if (typeof given !== 'object' || given === null) throw new InvalidArgumentError('@lota/queues: registerWorker() takes { queue, processor, concurrency?, workerOptions? }.');
    const { queue: name, processor } = opts;
    const policy = this.queues.policy(name);
    const checked = resolveWorkerOptions(given);
    if (!checked.ok) throw new InvalidArgumentError(checked.issues.map((issue) => workerOptionsMessage(name, issue)).join(' '));
    const concurrency = opts.concurrency ?? policy.concurrency;
    const taken = this.slots.get(name);
    if (taken) throw new WorkerExistsError(name, taken.concurrency, taken.closing);
    const log = this.queues.logger;
    const tracker = new RunTracker(name, (run, how) =>
      log.warn({ queue: name, jobId: run.jobId, how }, 'job lock lost: its signal was aborted, another worker may run the job now'),
    );
    let lockDurationMs = policy.lockDurationMs; // set to the worker's effective value below
    // Processors in flight, so close() can wait for exactly these and nothing else.
    const inflight = new Set<Promise<unknown>>();
    const tracked: Processor<T> = (job, token, signal) => {
      const { run, end } = tracker.begin(job, token ?? job.token ?? '', lockDurationMs, signal);
      const result: Promise<unknown> = (async () => {
        const value: unknown = await processor(job, token, run.signal);
        return value;
      })();
      inflight.add(result);
      const settle = (): void => {
        end();
        inflight.delete(result);
      };
      result.then(settle, settle);
      return result;
    };
    const worker = new TrackedWorker<T>(
      name,
      tracked,
      {
        lockDuration: policy.lockDurationMs,
        maxStalledCount: policy.maxStalledCount,
        ...opts.workerOptions,
        connection: this.queues.connection,
        prefix: queuePrefix(this.queues.prefix, name),
        concurrency,
        autorun: true,
      },
      tracker,
    );
    lockDurationMs = worker.opts.lockDuration ?? lockDurationMs;
    // BullMQ resets this connection when a BZPOPMIN outlives its block, and waits for the reset's
    // connect(): on a Cluster mid-failover ioredis never settles it (see settleConnect in the shared helpers).
    worker.backend.blockingClient?.then(settleConnect, () => undefined);
    worker.on('error', (err) => log.error({ queue: name, error: err.message }, 'worker error (the worker keeps running)'));
    worker.on('failed', (job: Job | undefined, err: Error) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      const fields = { queue: name, jobId: job.id, orgId: (job.data as { orgId?: unknown }).orgId, attempt: job.attemptsMade, attempts, error: err.message };
      // Final when the attempts are used up, or when the processor threw UnrecoverableError (BullMQ
      // then fails the job at once; finishedOn is set only on a final failure).
      const final = job.attemptsMade >= attempts || err.name === 'UnrecoverableError' || job.finishedOn !== undefined;
      if (final) log.error(fields, 'job failed for good; it stays in the failed set for inspection');
      else log.warn(fields, 'job attempt failed; it will be retried with backoff');
    });
    worker.on('stalled', (jobId: string) => log.warn({ queue: name, jobId }, 'job stalled (its worker died or blocked); BullMQ moved it back to wait'));
    const slot = { concurrency, closing: false };
    this.slots.set(name, slot);
    const registered: PooledWorker = {
      queue: name,
      concurrency,
      worker: worker,
      close: async () => {
        this.registry.delete(registered);
        slot.closing = true;
        try {
          await worker.close();
        } finally {
          if (this.slots.get(name) === slot) this.slots.delete(name);
        }
      },
      drain: async () => {
        await worker.pause(true);
        while (inflight.size > 0) await Promise.allSettled([...inflight]);
      },
    };
    this.registry.add(registered);
    return registered;
  }

  /**
   * Workers stop taking jobs and finish active ones for most of `timeoutMs`; workers still busy
   * then are force-closed (their jobs return as stalled and run again elsewhere). Resolves by
   * `deadline` (a `Date.now()` time) even if Redis is unreachable.
   */
  async closeAll(timeoutMs: number, deadline: number): Promise<void> {
    // Keep a slice of the budget for the forced phase and the queues.
    const graceful = Math.max(0, timeoutMs - Math.min(1_000, timeoutMs * 0.2));
    const workers = [...this.registry];
    this.registry.clear();
    // Stop fetching, then wait for the processors already running. (BullMQ's close(true) cannot
    // follow a close() already in progress, so the graceful wait must not be close() itself.)
    const drained = await raceTimeout(Promise.all(workers.map((w) => w.drain())), graceful);
    if (!drained.done) {
      this.queues.logger.warn(
        { workers: workers.map((w) => w.queue), timeoutMs },
        'active jobs did not finish in time; aborting their signals and force-closing (unfinished jobs are retried: as failed attempts if they stop on the signal, as stalled otherwise)',
      );
      for (const w of workers) w.worker.cancelAllJobs('@lota/queues: worker shutting down (close() timeout)');
    }
    // Let BullMQ send the completions of the jobs that just finished, then close. close(true):
    // we already waited for the processors ourselves, and BullMQ's own wait needs Redis (with
    // Redis gone it would never end, and its lock-renewal timer would keep the process alive).
    // A job still running here is no longer renewed, so it is recovered as stalled elsewhere.
    await new Promise((resolve) => setImmediate(resolve));
    await raceTimeout(Promise.allSettled(workers.map((w) => w.worker.close(true))), deadline - Date.now());
  }
}
