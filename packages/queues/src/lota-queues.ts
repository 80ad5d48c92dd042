import { raceTimeout } from '@lota/shared';
import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { encodeKeyParts } from './dedupe-key.js';
import { parseEnqueueOptions } from './enqueue-options.js';
import type { EnqueueResult } from './enqueue-transaction.js';
import { Enqueuer } from './enqueuer.js';
import { ConfigError } from './errors.js';
import { requireId, type JobPayload } from './job-data.js';
import { checkConnection, isResolvedQueuesOptions, validateCreateOptions, type CreateQueuesOptions, type ResolvedQueuesOptions } from './options.js';
import type { QueuePolicy } from './policies.js';
import type {
  CloseOptions,
  ContextCompactionData,
  EnqueueBulkOptions,
  EnqueueOptions,
  MemoryDigestData,
  MemoryExtractionData,
  RegisteredWorker,
  RegisterWorkerOptions,
  RepoIndexingData,
} from './public-types.js';
import { QueueSet } from './queue-set.js';
import { WorkerPool } from './worker-pool.js';

/**
 * The SDK's queues: policies, deduplication, debouncing and workers on BullMQ, over one shared
 * ioredis client. Create with {@link createQueues}.
 */
export class LotaQueues {
  /** Every queue this instance knows: the four built-ins plus host queues named in `policies`. */
  readonly queueNames: readonly string[];
  private readonly queues: QueueSet;
  private readonly enqueuer: Enqueuer;
  private readonly pool: WorkerPool;

  /** Prefer {@link createQueues}; the two forms are the same as its own. */
  constructor(connection: Redis | Cluster, resolved: ResolvedQueuesOptions);
  constructor(options: CreateQueuesOptions);
  constructor(first: CreateQueuesOptions | Redis | Cluster, resolved?: ResolvedQueuesOptions) {
    const { connection, resolved: opts } = resolved === undefined ? validateCreateOptions(first) : { connection: checkConnection(first), resolved: checkResolved(resolved) };
    this.queues = new QueueSet(connection, opts);
    this.queueNames = this.queues.names;
    this.enqueuer = new Enqueuer(this.queues, opts.enqueueTimeoutMs, opts.maxPayloadBytes);
    this.pool = new WorkerPool(this.queues);
  }

  /** Workers registered on this instance and not closed: attach BullMQ events (`completed`, `failed`) here. */
  get workers(): readonly RegisteredWorker[] {
    return this.pool.workers;
  }

  /** The resolved policy of a queue. */
  policy(queue: string): Readonly<QueuePolicy> {
    return this.queues.policy(queue);
  }

  /** The BullMQ `Queue`, for anything not wrapped (counts, getJob, clean...). */
  getQueue(name: string): Queue {
    return this.queues.get(name);
  }

  /** Memory extraction for one turn; deduplicated by (orgId, workstreamId, turnId) while waiting, delayed or active. */
  async enqueueMemoryExtraction(data: MemoryExtractionData): Promise<EnqueueResult> {
    const q = 'memory-extraction';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'workstreamId'), requireId(q, data, 'turnId')];
    return this.enqueuer.add(q, data, { dedupeId: encodeKeyParts(parts) });
  }

  /** Context compaction; deduplicated per (orgId, workstreamId) while queued or active. */
  async enqueueContextCompaction(data: ContextCompactionData): Promise<EnqueueResult> {
    const q = 'context-compaction';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'workstreamId')];
    return this.enqueuer.add(q, data, { dedupeId: encodeKeyParts(parts) });
  }

  /**
   * Repo indexing; one job per (orgId, repoId), latest data wins. A request while the job waits
   * or is in retry backoff replaces its data (its chunk progress restarts at 0); a request while
   * it runs is kept and runs once after the current run. A push is never lost.
   */
  async enqueueRepoIndexing(data: RepoIndexingData): Promise<EnqueueResult> {
    const q = 'repo-indexing';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'repoId')];
    return this.enqueuer.add(q, data, { dedupeId: encodeKeyParts(parts), keepLastIfActive: true });
  }

  /**
   * Memory digest, debounced per (orgId, workstreamId): runs `debounceMs` (15 min) after the last
   * call, once, with the latest data; at the latest `maxWaitMs` (1 h) after the first call of a
   * burst that never pauses. A call while the digest runs leads to one follow-up run;
   * the data of the last acknowledged call is what runs last (see the README for every state).
   */
  async scheduleMemoryDigest(data: MemoryDigestData): Promise<EnqueueResult> {
    const q = 'memory-digest';
    const parts = [requireId(q, data, 'orgId'), requireId(q, data, 'workstreamId')];
    const { debounceMs, maxWaitMs } = this.policy(q);
    return this.enqueuer.add(q, data, { dedupeId: encodeKeyParts(parts), debounceMs, maxWaitMs: maxWaitMs === 0 ? undefined : maxWaitMs });
  }

  /** Any known queue (built-in or host). `data.orgId` is required. */
  async enqueue(queue: string, data: JobPayload, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    return this.enqueuer.add(queue, data, parseEnqueueOptions(queue, opts));
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
    items: ReadonlyArray<{ data: JobPayload; opts?: Omit<EnqueueOptions, 'debounceMs' | 'maxWaitMs' | 'waitForReplicas'> }>,
    opts: EnqueueBulkOptions = {},
  ): Promise<EnqueueResult[]> {
    return this.enqueuer.bulk(queue, items, opts);
  }

  /**
   * Starts a worker on a known queue with its policy's concurrency (or `concurrency`), lock
   * duration and stalled-job limit. One worker per queue per instance: a second call for the
   * same queue throws `WorkerExistsError` until the first worker's `close()` has settled.
   * Errors are logged, never thrown into the process; failed attempts are logged with their
   * attempt number. The processor's `signal` aborts on forced shutdown and on lock loss.
   */
  registerWorker<T extends JobPayload = JobPayload>(opts: RegisterWorkerOptions<T>): RegisteredWorker {
    return this.pool.register(opts);
  }

  /**
   * Workers stop taking jobs and finish active ones for up to `timeoutMs`; workers still busy
   * then are force-closed (their jobs return as stalled and run again elsewhere). Queues close
   * last. Resolves within `timeoutMs` even if Redis is unreachable. The connection is the
   * caller's: it is not closed. Idempotent.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    this.queues.closing ??= this.doClose(opts.timeoutMs ?? 30_000);
    return this.queues.closing;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.pool.closeAll(timeoutMs, deadline);
    await raceTimeout(Promise.allSettled([...this.queues.closeAll(), this.enqueuer.close()]), deadline - Date.now());
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
