import { QUEUE_NAME, QUEUE_NAME_RULE, raceTimeout, settleConnect, type Logger } from '@lota/shared';
import { randomUUID } from 'node:crypto';
import { Queue, type DefaultJobOptions, type Job, type JobsOptions, type Processor, type Worker, type WorkerOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { encodeKeyParts } from './dedupe-key.js';
import { addInTransaction, addPlain, type AddRequest, type EnqueueResult } from './enqueue-transaction.js';
import {
  EnqueueNotReplicatedError,
  EnqueueTimeoutError,
  InvalidArgumentError,
  LotaError,
  QueuesClosedError,
  ConfigError,
  RedisUnreachableError,
  WorkerExistsError,
} from './errors.js';
import { queuePrefix } from './hash-tag.js';
import { requireId, validateJobData, type JobPayload } from './job-data.js';
import { RunTracker } from './job-run.js';
import { ReplicatedEnqueuer } from './replicated-enqueue.js';
import { TrackedWorker } from './tracked-worker.js';
import { checkConnection, isResolvedQueuesOptions, validateCreateOptions, type CreateQueuesOptions, type ResolvedQueuesOptions } from './options.js';
import type { QueuePolicy } from './policies.js';

/** Options of the generic {@link LotaQueues.enqueue}. */
export interface EnqueueOptions {
  /** Drop this job while another with the same key is waiting, delayed or active. Arrays are encoded part by part. */
  dedupeKey?: string | readonly string[];
  /** Debounce: run once, `debounceMs` after the last call with this `dedupeKey`, with the latest data. */
  debounceMs?: number;
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

/**
 * Redis (not the input) failed the add: a connection closed under it, a Cluster slot moved or is
 * down mid-failover. It may or may not have been applied, like a timeout: the caller can retry
 * with the same jobId or dedupe key.
 */
function enqueueFailed(queue: string, jobId: string, err: unknown): RedisUnreachableError {
  const reason = err instanceof Error ? err.message : String(err);
  return new RedisUnreachableError(
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
  waitForReplicas?: number | undefined;
}

/** Validates the generic enqueue options; dedupe key parts are encoded so tuples cannot collide. */
function parseEnqueueOptions(queue: string, opts: unknown): ParsedEnqueueOptions {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') options must be an object ({ dedupeKey?, debounceMs?, delayMs?, jobId?, waitForReplicas? }) or left out.`);
  }
  const { dedupeKey, debounceMs, delayMs, jobId, waitForReplicas } = opts as EnqueueOptions;
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
  if (delayMs !== undefined && debounceMs !== undefined) {
    throw new InvalidArgumentError(
      `@lota/queues: enqueue('${queue}') takes delayMs or debounceMs, not both: a debounced job runs debounceMs after the last call. Drop delayMs, or drop debounceMs for a plain delayed job.`,
    );
  }
  if (jobId !== undefined && (typeof jobId !== 'string' || jobId === '' || /^\d+$/.test(jobId) || jobId.includes(':'))) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') jobId must be a non-empty string, not all digits, without ':'.`);
  }
  return { dedupeId, debounceMs, delayMs, jobId, waitForReplicas: parseWaitForReplicas(`enqueue('${queue}')`, waitForReplicas) };
}

function parseWaitForReplicas(call: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`@lota/queues: ${call} waitForReplicas must be a whole number >= 0 (replicas WAIT must confirm; 0 turns it off).`);
  }
  return value;
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
  /** Durable enqueues (`waitForReplicas`): their own connection, made on first use. */
  private readonly replicated: ReplicatedEnqueuer;
  private readonly registry = new Set<RegisteredWorker & { drain(): Promise<void> }>();
  /** One worker per queue: held from registerWorker until that worker's close() settles. */
  private readonly slots = new Map<string, { concurrency: number; closing: boolean }>();
  private closing: Promise<void> | undefined;
  private everReady: boolean;
  /** Resolves on the connection's first 'ready': one listener for every enqueue that waits for it. */
  private readonly firstReady: Promise<void> | undefined;

  /** Prefer {@link createQueues}; the two forms are the same as its own. */
  constructor(connection: Redis | Cluster, resolved: ResolvedQueuesOptions);
  constructor(options: CreateQueuesOptions);
  constructor(first: CreateQueuesOptions | Redis | Cluster, resolved?: ResolvedQueuesOptions) {
    const { connection, resolved: opts } = resolved === undefined ? validateCreateOptions(first) : { connection: checkConnection(first), resolved: checkResolved(resolved) };
    this.connection = connection;
    this.prefix = opts.prefix;
    this.policies = new Map(Array.from(opts.policies, ([name, policy]) => [name, { ...policy }]));
    this.queueNames = [...this.policies.keys()];
    this.logger = opts.logger;
    this.enqueueTimeoutMs = opts.enqueueTimeoutMs;
    this.maxPayloadBytes = opts.maxPayloadBytes;
    this.keepCompleted = { count: opts.keepCompleted.count, age: opts.keepCompleted.ageSeconds };
    this.keepFailed = { count: opts.keepFailed.count, age: opts.keepFailed.ageSeconds };
    this.replicated = new ReplicatedEnqueuer(this.connection, this.prefix, this.logger);
    this.everReady = this.connection.status === 'ready';
    this.firstReady = this.everReady
      ? undefined
      : new Promise<void>((resolve) => {
          this.connection.once('ready', () => {
            this.everReady = true;
            resolve();
          });
        });
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
    const queue = new Queue(name, {
      connection: this.connection,
      prefix: queuePrefix(this.prefix, name),
      defaultJobOptions: this.jobDefaults(name),
    });
    queue.on('error', (err) => this.logger.error({ queue: name, error: err.message }, 'queue error'));
    this.queues.set(name, queue);
    return queue;
  }

  /** BullMQ job options every job of `queue` gets: attempts and backoff from its policy, retention. */
  private jobDefaults(queue: string): DefaultJobOptions {
    const policy = this.policy(queue);
    return {
      attempts: policy.maxRetries + 1,
      backoff: { type: 'exponential', delay: policy.backoffDelayMs },
      removeOnComplete: this.keepCompleted,
      removeOnFail: this.keepFailed,
    };
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
   * Repo indexing; one job per (orgId, repoId), latest data wins. A request while the job waits
   * or is in retry backoff replaces its data (its chunk progress restarts at 0); a request while
   * it runs is kept and runs once after the current run. A push is never lost.
   */
  async enqueueRepoIndexing(data: RepoIndexingData): Promise<EnqueueResult> {
    const q = 'repo-indexing';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'repoId')];
    return this.add(q, data, { dedupeId: encodeKeyParts(parts), keepLastIfActive: true });
  }

  /**
   * Memory digest, debounced per (orgId, workstreamId): runs `debounceMs` (15 min) after the last
   * call, once, with the latest data. A call while the digest runs leads to one follow-up run;
   * the data of the last acknowledged call is what runs last (see the README for every state).
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
   * Many jobs for one queue in one round trip, applied atomically (one MULTI of BullMQ's own
   * add), each validated first: one bad item refuses the whole batch and nothing is sent.
   * Deduplication and custom job ids work per item, with the same statuses as `enqueue`;
   * debouncing does not apply to bulk adds. With `waitForReplicas` (here or in the queue's
   * policy), one WAIT after the MULTI confirms the whole batch.
   */
  async enqueueBulk(
    queue: string,
    items: ReadonlyArray<{ data: JobPayload; opts?: Omit<EnqueueOptions, 'debounceMs' | 'waitForReplicas'> }>,
    opts: EnqueueBulkOptions = {},
  ): Promise<EnqueueResult[]> {
    if (this.closing) throw new QueuesClosedError('enqueueBulk');
    if (!this.policies.has(queue)) throw this.unknownQueue(queue);
    const list: unknown = items; // JS callers may pass anything
    if (!Array.isArray(list)) throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') takes an array of { data, opts }.`);
    const given: unknown = opts;
    if (typeof given !== 'object' || given === null) throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') options must be an object ({ waitForReplicas? }) or left out.`);
    const replicas = parseWaitForReplicas(`enqueueBulk('${queue}')`, opts.waitForReplicas) ?? this.policy(queue).waitForReplicas;
    const requests = (list as unknown[]).map((item, i) => {
      if (typeof item !== 'object' || item === null) {
        throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') item ${i} must be an object { data, opts? }.`);
      }
      const { data, opts: itemOpts = {} } = item as { data: JobPayload; opts?: unknown };
      if (typeof itemOpts === 'object' && itemOpts !== null && (itemOpts as EnqueueOptions).debounceMs !== undefined) {
        throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') item ${i}: debounceMs is not supported in bulk; use enqueue().`);
      }
      if (typeof itemOpts === 'object' && itemOpts !== null && (itemOpts as EnqueueOptions).waitForReplicas !== undefined) {
        throw new InvalidArgumentError(
          `@lota/queues: enqueueBulk('${queue}') item ${i}: waitForReplicas applies to the whole batch (one WAIT after it); pass it as enqueueBulk(queue, items, { waitForReplicas }).`,
        );
      }
      validateJobData(queue, data, this.maxPayloadBytes);
      return this.request(queue, data, parseEnqueueOptions(queue, itemOpts));
    });
    const [first] = requests;
    if (first === undefined) return [];
    const connecting = this.assertConnected(queue);
    if (connecting) await connecting;
    if (replicas > 0) return this.addReplicated(queue, requests, replicas);
    const outcome = await raceTimeout(addInTransaction(this.getQueue(queue), queue, requests), this.enqueueTimeoutMs).catch((err: unknown) => {
      throw enqueueFailed(queue, first.jobId, err);
    });
    if (!outcome.done) throw new EnqueueTimeoutError(queue, first.jobId, this.enqueueTimeoutMs);
    return outcome.value;
  }

  /**
   * A durable add: the adds and a WAIT in one round trip on the durable connection (see
   * replicated-enqueue.ts), all within `enqueueTimeoutMs`. Fewer replicas than asked for is an
   * `EnqueueNotReplicatedError` carrying what the adds did on the master.
   */
  private async addReplicated(queue: string, requests: readonly AddRequest[], replicas: number): Promise<EnqueueResult[]> {
    const [first] = requests;
    const jobId = first?.jobId ?? '?';
    const deadline = performance.now() + this.enqueueTimeoutMs;
    const timeoutMs = this.policy(queue).waitForReplicasTimeoutMs;
    const outcome = await raceTimeout(this.replicated.add(queue, requests, { replicas, timeoutMs, deadline }), this.enqueueTimeoutMs).catch((err: unknown) => {
      // Ours (not ready: nothing was sent; closed) as they are; Redis' own as "may or may not".
      throw err instanceof LotaError ? err : enqueueFailed(queue, jobId, err);
    });
    if (!outcome.done) throw new EnqueueTimeoutError(queue, jobId, this.enqueueTimeoutMs);
    const { results, acknowledged, waitError, waitTimeoutMs } = outcome.value;
    if (acknowledged === undefined || !(acknowledged >= replicas)) {
      throw new EnqueueNotReplicatedError(queue, results, replicas, acknowledged ?? 0, waitTimeoutMs, waitError);
    }
    return results.map((r) => ({ ...r, replicas: acknowledged }));
  }

  /** The BullMQ options of one call (queue defaults included) and how its status is decided. */
  private request(queueName: string, data: JobPayload, opts: ParsedEnqueueOptions): AddRequest {
    const jobId = opts.jobId ?? randomUUID();
    const jobOpts: JobsOptions = { ...this.jobDefaults(queueName), jobId };
    let latestWins: AddRequest['latestWins'];
    if (opts.dedupeId !== undefined) {
      if (opts.debounceMs !== undefined) {
        // replace: a delayed job is swapped for this one (new data, timer restarted).
        // keepLastIfActive: while one runs, the latest call is kept and runs once afterwards.
        jobOpts.deduplication = { id: opts.dedupeId, replace: true, keepLastIfActive: true };
        jobOpts.delay = opts.debounceMs;
        latestWins = { dedupeId: opts.dedupeId, replaceDelayed: true };
      } else if (opts.keepLastIfActive) {
        jobOpts.deduplication = { id: opts.dedupeId, keepLastIfActive: true };
        latestWins = { dedupeId: opts.dedupeId, replaceDelayed: false };
      } else {
        jobOpts.deduplication = { id: opts.dedupeId };
      }
    }
    if (opts.delayMs) jobOpts.delay = opts.delayMs;
    return { data, jobId, customJobId: opts.jobId !== undefined, opts: jobOpts, latestWins };
  }

  /**
   * One enqueue. The common call (no custom jobId, not latest-wins) is BullMQ's add alone, one
   * round trip. A custom jobId or a latest-wins call (debounce, repo indexing) is one MULTI,
   * still one round trip, whose status is read from Redis in the same atomic step as the add.
   * A durable call (`waitForReplicas` > 0) is that MULTI followed by a WAIT, one round trip too.
   */
  private async add(queueName: string, data: JobPayload, opts: ParsedEnqueueOptions): Promise<EnqueueResult> {
    if (this.closing) throw new QueuesClosedError('enqueue');
    if (!this.policies.has(queueName)) throw this.unknownQueue(queueName);
    validateJobData(queueName, data, this.maxPayloadBytes);
    const connecting = this.assertConnected(queueName);
    if (connecting) await connecting;
    const request = this.request(queueName, data, opts);
    const replicas = opts.waitForReplicas ?? this.policy(queueName).waitForReplicas;
    if (replicas > 0) {
      const [result] = await this.addReplicated(queueName, [request], replicas);
      if (!result) throw new Error('@lota/queues: the durable enqueue returned no result');
      return result;
    }
    const queue = this.getQueue(queueName);
    const adding =
      request.latestWins || request.customJobId
        ? addInTransaction(queue, queueName, [request]).then(([result]) => {
            if (!result) throw new Error('@lota/queues: the enqueue transaction returned no result');
            return result;
          })
        : addPlain(queue, queueName, request);
    const outcome = await raceTimeout(adding, this.enqueueTimeoutMs).catch((err: unknown) => {
      throw enqueueFailed(queueName, request.jobId, err);
    });
    if (!outcome.done) throw new EnqueueTimeoutError(queueName, request.jobId, this.enqueueTimeoutMs);
    return outcome.value;
  }

  /**
   * Starts a worker on a known queue with its policy's concurrency (or `concurrency`), lock
   * duration and stalled-job limit. One worker per queue per instance: a second call for the
   * same queue throws `WorkerExistsError` until the first worker's `close()` has settled.
   * Errors are logged, never thrown into the process; failed attempts are logged with their
   * attempt number. The processor's `signal` aborts on forced shutdown and on lock loss.
   */
  registerWorker<T extends JobPayload = JobPayload>(opts: RegisterWorkerOptions<T>): RegisteredWorker {
    if (this.closing) throw new QueuesClosedError('registerWorker');
    const given: unknown = opts; // JS callers may pass anything
    if (typeof given !== 'object' || given === null) throw new InvalidArgumentError('@lota/queues: registerWorker() takes { queue, processor, concurrency?, workerOptions? }.');
    const { queue: name, processor } = opts;
    const policy = this.policy(name);
    const concurrency = opts.concurrency ?? policy.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`@lota/queues: registerWorker('${name}') concurrency must be a whole number >= 1, got ${String(concurrency)}.`);
    }
    if (typeof processor !== 'function') throw new InvalidArgumentError(`@lota/queues: registerWorker('${name}') processor must be a function.`);
    const taken = this.slots.get(name);
    if (taken) throw new WorkerExistsError(name, taken.concurrency, taken.closing);
    const log = this.logger;
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
        connection: this.connection,
        prefix: queuePrefix(this.prefix, name),
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
    const registered: RegisteredWorker & { drain(): Promise<void> } = {
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
    await raceTimeout(Promise.allSettled([...[...this.queues.values()].map((q) => q.close()), this.replicated.close()]), deadline - Date.now());
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
    if (!this.everReady && this.firstReady && (status === 'wait' || status === 'connecting' || status === 'connect')) {
      if (status === 'wait') this.connection.connect().catch(() => undefined);
      // Every waiting enqueue shares the one 'ready' listener set in the constructor.
      const ready = await raceTimeout(this.firstReady, this.enqueueTimeoutMs);
      if (ready.done) return;
    }
    throw new RedisUnreachableError(
      `@lota/queues: cannot enqueue to '${queue}': the Redis connection is '${status}', not ready. Nothing was sent; retry when Redis is back (the connection reconnects by itself).`,
    );
  }

  private unknownQueue(queue: string): InvalidArgumentError {
    const shown: unknown = queue; // JS callers may pass anything
    const valid = typeof queue === 'string' && QUEUE_NAME.test(queue);
    return new InvalidArgumentError(
      `@lota/queues: unknown queue '${String(shown)}'. Known queues: ${this.queueNames.join(', ')}. ` +
        (valid ? `Declare a host queue by giving it a policy: createQueues({ policies: { '${queue}': {} } }).` : `Check the name: ${QUEUE_NAME_RULE}.`),
    );
  }
}

/** `resolved` must come out of `resolveQueuesOptions`: a look-alike object would skip validation. */
function checkResolved(resolved: ResolvedQueuesOptions): ResolvedQueuesOptions {
  if (!isResolvedQueuesOptions(resolved)) {
    throw new ConfigError('@lota/queues: createQueues(connection, resolved)', [
      { path: 'resolved', message: 'must be the value of resolveQueuesOptions(); pass plain options as createQueues({ connection, ...options })' },
    ]);
  }
  return resolved;
}

/**
 * Creates the queues over options already resolved by `resolveQueuesOptions` (they are not parsed again):
 * how `@lota/runtime` builds its queues from the section it validated at creation.
 */
export function createQueues(connection: Redis | Cluster, resolved: ResolvedQueuesOptions): LotaQueues;
/**
 * Creates the SDK's queues over `connection` (validated: maxRetriesPerRequest null, no keyPrefix).
 * Nothing is sent to Redis until the first use. Throws `CONFIG_INVALID` listing every bad option
 * by dot path.
 */
export function createQueues(options: CreateQueuesOptions): LotaQueues;
export function createQueues(first: CreateQueuesOptions | Redis | Cluster, resolved?: ResolvedQueuesOptions): LotaQueues {
  return resolved === undefined ? new LotaQueues(first as CreateQueuesOptions) : new LotaQueues(first as Redis | Cluster, resolved);
}
