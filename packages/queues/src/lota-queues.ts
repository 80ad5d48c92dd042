import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { encodeKeyParts } from './dedupe-key.js';
import {
  EnqueueTimeoutError,
  InvalidArgumentError,
  QueuesClosedError,
  RedisUnavailableError,
} from './errors.js';
import { queuePrefix } from './hash-tag.js';
import { requireId, validateJobData, type JobPayload } from './job-data.js';
import { stderrLogger, type Logger } from './logger.js';
import { QUEUE_NAME, validateCreateOptions, type CreateQueuesOptions } from './options.js';
import { resolvePolicies, type QueuePolicy } from './policies.js';

/** What an enqueue did: a new job, dropped as a duplicate, or replaced a pending job's data. */
export interface EnqueueResult {
  jobId: string;
  status: 'added' | 'deduplicated' | 'replaced';
}

/** Options of the generic {@link LotaQueues.enqueue}. */
export interface EnqueueOptions {
  /** Drop this job while another with the same key is waiting, delayed or active. Arrays are encoded part by part. */
  dedupeKey?: string | readonly string[];
  /** Debounce: run once, `debounceMs` after the last call with this `dedupeKey`, with the latest data. */
  debounceMs?: number;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Your own job id, for idempotent retries after an `ENQUEUE_TIMEOUT`. @defaultValue a random UUID */
  jobId?: string;
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
  /** Called for each job; throw to fail the attempt. `signal` aborts when the worker is force-closed. */
  processor: Processor<T>;
  /** Extra BullMQ worker options (lockDuration, stalledInterval, limiter...). Connection, prefix and concurrency are set for you. */
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

function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then((value) => ({ done: true as const, value })),
    new Promise<{ done: false }>((resolve) => {
      timer = setTimeout(() => resolve({ done: false }), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Redis (not the input) failed the add: a connection closed under it, a Cluster slot moved or is
 * down mid-failover. It may or may not have been applied, like a timeout: the caller can retry
 * with the same jobId or dedupe key.
 */
function enqueueFailed(queue: string, jobId: string, err: unknown): RedisUnavailableError {
  const reason = err instanceof Error ? err.message : String(err);
  return new RedisUnavailableError(
    `@lota/queues: Redis failed the enqueue to '${queue}' (${reason}). It may or may not have been applied; retry with jobId '${jobId}' (or the same dedupe key) to be safe from duplicates.`,
    { cause: err, jobId },
  );
}

interface ParsedEnqueueOptions {
  dedupeId?: string | undefined;
  debounceMs?: number | undefined;
  delayMs?: number | undefined;
  jobId?: string | undefined;
  keepLastIfActive?: boolean;
}

/** Validates the generic enqueue options; dedupe key parts are encoded so tuples cannot collide. */
function parseEnqueueOptions(queue: string, opts: EnqueueOptions): ParsedEnqueueOptions {
  const { dedupeKey, debounceMs, delayMs, jobId } = opts;
  let dedupeId: string | undefined;
  if (dedupeKey !== undefined) {
    const parts = typeof dedupeKey === 'string' ? [dedupeKey] : dedupeKey;
    if (parts.length === 0 || parts.some((p) => typeof p !== 'string' || p === '')) {
      throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') dedupeKey must be a non-empty string or array of non-empty strings.`);
    }
    dedupeId = encodeKeyParts(parts);
  }
  if (debounceMs !== undefined) {
    if (!Number.isInteger(debounceMs) || debounceMs < 0) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') debounceMs must be a whole number >= 0.`);
    if (dedupeId === undefined) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') debounceMs needs a dedupeKey: it says which calls collapse into one.`);
  }
  if (delayMs !== undefined && (!Number.isInteger(delayMs) || delayMs < 0)) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') delayMs must be a whole number >= 0.`);
  }
  if (jobId !== undefined && (typeof jobId !== 'string' || jobId === '' || /^\d+$/.test(jobId) || jobId.includes(':'))) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') jobId must be a non-empty string, not all digits, without ':'.`);
  }
  return { dedupeId, debounceMs, delayMs, jobId };
}

/**
 * The SDK's queues: policies, deduplication, debouncing and workers on BullMQ, over one shared
 * ioredis client. Create with {@link createQueues}.
 */
export class LotaQueues {
  /** Every queue this instance knows: the four built-ins plus host queues named in `policies`. */
  readonly queueNames: readonly string[];
  private readonly connection: Redis | Cluster;
  private readonly prefix: string;
  private readonly policies: Map<string, QueuePolicy>;
  private readonly logger: Logger;
  private readonly enqueueTimeoutMs: number;
  private readonly maxPayloadBytes: number;
  private readonly keepCompleted: { count: number; age: number };
  private readonly keepFailed: { count: number; age: number };
  private readonly queues = new Map<string, Queue>();
  private readonly registry = new Set<RegisteredWorker & { drain(): Promise<void> }>();
  private closing: Promise<void> | undefined;
  private everReady: boolean;

  constructor(options: CreateQueuesOptions) {
    const opts = validateCreateOptions(options);
    this.connection = opts.connection;
    this.prefix = opts.prefix ?? 'lota';
    this.policies = resolvePolicies(opts.policies);
    this.queueNames = [...this.policies.keys()];
    this.logger = opts.logger ?? stderrLogger;
    this.enqueueTimeoutMs = opts.enqueueTimeoutMs ?? 5_000;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? 256 * 1024;
    const kc = opts.keepCompleted ?? { count: 1_000, ageSeconds: 86_400 };
    const kf = opts.keepFailed ?? { count: 10_000, ageSeconds: 7 * 86_400 };
    this.keepCompleted = { count: kc.count, age: kc.ageSeconds };
    this.keepFailed = { count: kf.count, age: kf.ageSeconds };
    this.everReady = this.connection.status === 'ready';
    if (!this.everReady) this.connection.once('ready', () => (this.everReady = true));
  }

  /** Workers registered on this instance and not closed: attach BullMQ events (`completed`, `failed`) here. */
  get workers(): readonly RegisteredWorker[] {
    return [...this.registry];
  }

  /** The resolved policy of a queue. */
  policy(queue: string): Readonly<QueuePolicy> {
    const policy = this.policies.get(queue);
    if (!policy) throw this.unknownQueue(queue);
    return policy;
  }

  /** The BullMQ `Queue`, for anything not wrapped (counts, getJob, clean...). */
  getQueue(name: string): Queue {
    if (this.closing) throw new QueuesClosedError('getQueue');
    const existing = this.queues.get(name);
    if (existing) return existing;
    const policy = this.policy(name);
    const queue = new Queue(name, {
      connection: this.connection,
      prefix: queuePrefix(this.prefix, name),
      defaultJobOptions: {
        attempts: policy.maxRetries + 1,
        backoff: { type: 'exponential', delay: policy.backoffDelayMs },
        removeOnComplete: this.keepCompleted,
        removeOnFail: this.keepFailed,
      },
    });
    queue.on('error', (err) => this.logger.error({ queue: name, error: err.message }, 'queue error'));
    this.queues.set(name, queue);
    return queue;
  }

  /** Memory extraction for one turn; deduplicated by (orgId, workstreamId, turnId) while waiting, delayed or active. */
  async enqueueMemoryExtraction(data: MemoryExtractionData): Promise<EnqueueResult> {
    const q = 'memory-extraction';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'workstreamId'), requireId(q, data, 'turnId')];
    return this.add(q, data, { dedupeId: encodeKeyParts(parts) });
  }

  /** Context compaction; deduplicated per (orgId, workstreamId) while queued or active. */
  async enqueueContextCompaction(data: ContextCompactionData): Promise<EnqueueResult> {
    const q = 'context-compaction';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'workstreamId')];
    return this.add(q, data, { dedupeId: encodeKeyParts(parts) });
  }

  /**
   * Repo indexing; one job per (orgId, repoId). A request while that repo is being indexed is
   * kept (latest data wins) and runs once after the current run: a push during indexing is not lost.
   */
  async enqueueRepoIndexing(data: RepoIndexingData): Promise<EnqueueResult> {
    const q = 'repo-indexing';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'repoId')];
    return this.add(q, data, { dedupeId: encodeKeyParts(parts), keepLastIfActive: true });
  }

  /**
   * Memory digest, debounced per (orgId, workstreamId): runs `debounceMs` (15 min) after the last
   * call, once, with the latest data. A call while the digest runs leads to one follow-up run.
   */
  async scheduleMemoryDigest(data: MemoryDigestData): Promise<EnqueueResult> {
    const q = 'memory-digest';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'workstreamId')];
    return this.add(q, data, { dedupeId: encodeKeyParts(parts), debounceMs: this.policy(q).debounceMs });
  }

  /** Any known queue (built-in or host). `data.orgId` is required. */
  async enqueue(queue: string, data: JobPayload, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    return this.add(queue, data, parseEnqueueOptions(queue, opts));
  }

  /**
   * Many jobs for one queue in one round trip (BullMQ `addBulk`), each validated first: one bad
   * item refuses the whole batch and nothing is sent. Deduplication works per item; debouncing
   * does not apply to bulk adds.
   */
  async enqueueBulk(queue: string, items: ReadonlyArray<{ data: JobPayload; opts?: Omit<EnqueueOptions, 'debounceMs'> }>): Promise<EnqueueResult[]> {
    if (this.closing) throw new QueuesClosedError('enqueueBulk');
    if (!this.policies.has(queue)) throw this.unknownQueue(queue);
    const list: unknown = items; // JS callers may pass anything
    if (!Array.isArray(list)) throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') takes an array of { data, opts }.`);
    const ids: string[] = [];
    const jobs = items.map((item, i) => {
      const opts: EnqueueOptions = item.opts ?? {};
      if (opts.debounceMs !== undefined) {
        throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') item ${i}: debounceMs is not supported in bulk; use enqueue().`);
      }
      validateJobData(queue, item.data, this.maxPayloadBytes);
      const parsed = parseEnqueueOptions(queue, opts);
      const jobId = parsed.jobId ?? randomUUID();
      ids.push(jobId);
      const jobOpts: JobsOptions = { jobId };
      if (parsed.dedupeId !== undefined) jobOpts.deduplication = { id: parsed.dedupeId };
      if (parsed.delayMs) jobOpts.delay = parsed.delayMs;
      return { name: queue, data: item.data, opts: jobOpts };
    });
    const [firstId] = ids;
    if (firstId === undefined) return [];
    const connecting = this.assertConnected(queue);
    if (connecting) await connecting;
    const outcome = await raceTimeout(this.getQueue(queue).addBulk(jobs), this.enqueueTimeoutMs).catch((err: unknown) => {
      throw enqueueFailed(queue, firstId, err);
    });
    if (!outcome.done) throw new EnqueueTimeoutError(queue, firstId, this.enqueueTimeoutMs);
    return outcome.value.map((job, i): EnqueueResult => {
      const mine = ids[i] ?? firstId;
      return job.id === mine ? { jobId: mine, status: 'added' } : { jobId: job.id ?? mine, status: 'deduplicated' };
    });
  }

  private async add(
    queueName: string,
    data: JobPayload,
    opts: ParsedEnqueueOptions,
  ): Promise<EnqueueResult> {
    if (this.closing) throw new QueuesClosedError('enqueue');
    if (!this.policies.has(queueName)) throw this.unknownQueue(queueName);
    validateJobData(queueName, data, this.maxPayloadBytes);
    const connecting = this.assertConnected(queueName);
    if (connecting) await connecting;
    const queue = this.getQueue(queueName);
    const jobId = opts.jobId ?? randomUUID();
    const jobOpts: JobsOptions = { jobId };
    const debounced = opts.debounceMs !== undefined && opts.dedupeId !== undefined;
    let before: Promise<string | null> | undefined;
    if (opts.dedupeId !== undefined) {
      if (debounced) {
        // replace: a delayed job is swapped for this one (new data, timer restarted).
        // keepLastIfActive: while one runs, the latest call is kept and runs once afterwards.
        jobOpts.deduplication = { id: opts.dedupeId, replace: true, keepLastIfActive: true };
        jobOpts.delay = opts.debounceMs;
        // Pipelined just ahead of the add on the same connection: tells 'added' from 'replaced'.
        before = queue.getDeduplicationJobId(opts.dedupeId).catch(() => null);
      } else {
        jobOpts.deduplication = { id: opts.dedupeId, ...(opts.keepLastIfActive ? { keepLastIfActive: true } : {}) };
      }
    }
    if (!debounced && opts.delayMs) jobOpts.delay = opts.delayMs;

    const outcome = await raceTimeout(queue.add(queueName, data, jobOpts), this.enqueueTimeoutMs).catch((err: unknown) => {
      throw enqueueFailed(queueName, jobId, err);
    });
    if (!outcome.done) throw new EnqueueTimeoutError(queueName, jobId, this.enqueueTimeoutMs);
    const job = outcome.value;
    const existing = before ? await before : null;
    if (job.id === jobId) return { jobId, status: existing ? 'replaced' : 'added' };

    // BullMQ kept another job for this key: ours was folded into it.
    const keptId = job.id ?? jobId;
    if (!debounced && !opts.keepLastIfActive) return { jobId: keptId, status: 'deduplicated' };
    const state = await queue.getJobState(keptId);
    if (state === 'active') {
      // BullMQ stored our data; it runs once when the active job finishes.
      return { jobId: keptId, status: 'replaced' };
    }
    if (debounced && (state === 'waiting' || state === 'prioritized')) {
      // Already due and not yet picked up: it has not read its data, so the latest data still wins.
      await job.updateData(data);
      return { jobId: keptId, status: 'replaced' };
    }
    return { jobId: keptId, status: 'deduplicated' };
  }

  /**
   * Starts a worker on a known queue with its policy's concurrency (or `concurrency`). Errors are
   * logged, never thrown into the process; failed attempts are logged with their attempt number.
   */
  registerWorker<T extends JobPayload = JobPayload>(opts: RegisterWorkerOptions<T>): RegisteredWorker {
    if (this.closing) throw new QueuesClosedError('registerWorker');
    const { queue: name, processor } = opts;
    const policy = this.policy(name);
    const concurrency = opts.concurrency ?? policy.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`@lota/queues: registerWorker('${name}') concurrency must be a whole number >= 1, got ${String(concurrency)}.`);
    }
    if (typeof processor !== 'function') throw new InvalidArgumentError(`@lota/queues: registerWorker('${name}') processor must be a function.`);
    // Processors in flight, so close() can wait for exactly these and nothing else.
    const inflight = new Set<Promise<unknown>>();
    const tracked: Processor<T> = (job, token, signal) => {
      const run = processor(job, token, signal);
      inflight.add(run);
      run.then(
        () => inflight.delete(run),
        () => inflight.delete(run),
      );
      return run;
    };
    const worker = new Worker<T>(name, tracked, {
      ...opts.workerOptions,
      connection: this.connection,
      prefix: queuePrefix(this.prefix, name),
      concurrency,
      autorun: true,
    });
    const log = this.logger;
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
    const registered: RegisteredWorker & { drain(): Promise<void> } = {
      queue: name,
      concurrency,
      worker: worker,
      close: async () => {
        this.registry.delete(registered);
        await worker.close();
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
   * Workers stop taking jobs and finish active ones for up to `timeoutMs`; workers still busy
   * then are force-closed (their jobs return as stalled and run again elsewhere). Queues close
   * last. Resolves within `timeoutMs` even if Redis is unreachable. The connection is the
   * caller's: it is not closed. Idempotent.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    this.closing ??= this.doClose(opts.timeoutMs ?? 30_000);
    return this.closing;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Keep a slice of the budget for the forced phase and the queues.
    const graceful = Math.max(0, timeoutMs - Math.min(1_000, timeoutMs * 0.2));
    const workers = [...this.registry];
    this.registry.clear();
    // Stop fetching, then wait for the processors already running. (BullMQ's close(true) cannot
    // follow a close() already in progress, so the graceful wait must not be close() itself.)
    const drained = await raceTimeout(Promise.all(workers.map((w) => w.drain())), graceful);
    if (!drained.done) {
      this.logger.warn(
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
    await raceTimeout(Promise.allSettled([...this.queues.values()].map((q) => q.close())), deadline - Date.now());
    this.queues.clear();
  }

  /** Job counts per known queue, for health endpoints. */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    await Promise.all(
      this.queueNames.map(async (name) => {
        out[name] = await this.getQueue(name).getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      }),
    );
    return out;
  }

  /**
   * Producers fail fast: once the connection has been ready, anything but 'ready' means Redis is
   * down or reconnecting, and the job is refused without being sent (so it cannot appear later).
   * Only a client that is still making its first connection is waited for, within the deadline.
   */
  private assertConnected(queue: string): Promise<void> | undefined {
    // The hot path stays synchronous: no promise, no microtask, when the connection is ready.
    if (this.connection.status === 'ready') return undefined;
    return this.waitFirstConnection(queue);
  }

  private async waitFirstConnection(queue: string): Promise<void> {
    const status = this.connection.status;
    if (!this.everReady && (status === 'wait' || status === 'connecting' || status === 'connect')) {
      let onReady: (() => void) | undefined;
      const ready = await raceTimeout(
        new Promise<void>((resolve) => {
          onReady = resolve;
          this.connection.once('ready', onReady);
          if (status === 'wait') this.connection.connect().catch(() => undefined);
        }),
        this.enqueueTimeoutMs,
      );
      if (ready.done) return;
      if (onReady) this.connection.off('ready', onReady); // timed out: do not leave one listener per call
    }
    throw new RedisUnavailableError(
      `@lota/queues: cannot enqueue to '${queue}': the Redis connection is '${status}', not ready. Nothing was sent; retry when Redis is back (the connection reconnects by itself).`,
    );
  }

  private unknownQueue(queue: string): InvalidArgumentError {
    const shown: unknown = queue; // JS callers may pass anything
    const valid = typeof queue === 'string' && QUEUE_NAME.test(queue);
    return new InvalidArgumentError(
      `@lota/queues: unknown queue '${String(shown)}'. Known queues: ${this.queueNames.join(', ')}. ` +
        (valid ? `Declare a host queue by giving it a policy: createQueues({ policies: { '${queue}': {} } }).` : 'Queue names are letters, digits, . _ - (no ":" or braces).'),
    );
  }
}

/** Creates the SDK's queues over `connection` (validated: maxRetriesPerRequest null, no keyPrefix). Nothing is sent to Redis until the first use. */
export function createQueues(options: CreateQueuesOptions): LotaQueues {
  return new LotaQueues(options);
}

