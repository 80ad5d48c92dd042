import { raceTimeout } from '@lota/shared';
import { randomUUID } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { bulkItem, parseBulkOptions, parseEnqueueOptions, type ParsedEnqueueOptions } from './enqueue-options.js';
import { addInTransaction, addPlain, type AddRequest, type EnqueueResult } from './enqueue-transaction.js';
import { EnqueueNotReplicatedError, EnqueueTimeoutError, InvalidArgumentError, LotaError, QueuesClosedError, RedisUnreachableError } from './errors.js';
import { FirstConnection } from './first-connection.js';
import { validateJobData, type JobPayload } from './job-data.js';
import type { EnqueueBulkOptions, EnqueueOptions } from './public-types.js';
import type { QueueSet } from './queue-set.js';
import { ReplicatedEnqueuer } from './replicated-enqueue.js';

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

/** The enqueue path of {@link LotaQueues}: one add, a bulk add, a durable add, each within `enqueueTimeoutMs`. */
export class Enqueuer {
  /** Durable enqueues (`waitForReplicas`): their own connection, made on first use. */
  private readonly replicated: ReplicatedEnqueuer;
  private readonly firstConnection: FirstConnection;

  constructor(
    private readonly queues: QueueSet,
    private readonly enqueueTimeoutMs: number,
    private readonly maxPayloadBytes: number,
  ) {
    this.replicated = new ReplicatedEnqueuer(queues.connection, queues.prefix, queues.logger);
    this.firstConnection = new FirstConnection(queues.connection);
  }

  /**
   * One enqueue. The common call (no custom jobId, not latest-wins) is BullMQ's add alone, one
   * round trip. A custom jobId or a latest-wins call (debounce, repo indexing) is one MULTI,
   * still one round trip, whose status is read from Redis in the same atomic step as the add.
   * A durable call (`waitForReplicas` > 0) is that MULTI followed by a WAIT, one round trip too.
   */
  async add(queueName: string, data: JobPayload, opts: ParsedEnqueueOptions): Promise<EnqueueResult> {
    if (this.queues.closing) throw new QueuesClosedError('enqueue');
    if (!this.queues.has(queueName)) throw this.queues.unknownQueue(queueName);
    validateJobData(queueName, data, this.maxPayloadBytes);
    const connecting = this.assertConnected(queueName);
    if (connecting) await connecting;
    const request = this.request(queueName, data, opts);
    const replicas = opts.waitForReplicas ?? this.queues.policy(queueName).waitForReplicas;
    if (replicas > 0) {
      const [result] = await this.addReplicated(queueName, [request], replicas);
      if (!result) throw new Error('@lota/queues: the durable enqueue returned no result');
      return result;
    }
    const queue = this.queues.get(queueName);
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

  /** See {@link LotaQueues.enqueueBulk}. */
  async bulk(
    queue: string,
    items: ReadonlyArray<{ data: JobPayload; opts?: Omit<EnqueueOptions, 'debounceMs' | 'maxWaitMs' | 'waitForReplicas'> }>,
    opts: EnqueueBulkOptions,
  ): Promise<EnqueueResult[]> {
    if (this.queues.closing) throw new QueuesClosedError('enqueueBulk');
    if (!this.queues.has(queue)) throw this.queues.unknownQueue(queue);
    const list: unknown = items; // JS callers may pass anything
    if (!Array.isArray(list)) throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') takes an array of { data, opts }.`);
    const replicas = parseBulkOptions(queue, opts) ?? this.queues.policy(queue).waitForReplicas;
    const requests = (list as unknown[]).map((item, i) => {
      const { data, itemOpts } = bulkItem(queue, item, i);
      validateJobData(queue, data, this.maxPayloadBytes);
      return this.request(queue, data, parseEnqueueOptions(queue, itemOpts));
    });
    const [first] = requests;
    if (first === undefined) return [];
    const connecting = this.assertConnected(queue);
    if (connecting) await connecting;
    if (replicas > 0) return this.addReplicated(queue, requests, replicas);
    const outcome = await raceTimeout(addInTransaction(this.queues.get(queue), queue, requests), this.enqueueTimeoutMs).catch((err: unknown) => {
      throw enqueueFailed(queue, first.jobId, err);
    });
    if (!outcome.done) throw new EnqueueTimeoutError(queue, first.jobId, this.enqueueTimeoutMs);
    return outcome.value;
  }

  /** Closes the durable-enqueue connection (the shared one is the caller's). */
  close(): Promise<void> {
    return this.replicated.close();
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
    const timeoutMs = this.queues.policy(queue).waitForReplicasTimeoutMs;
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
    const jobOpts: JobsOptions = { ...this.queues.jobDefaults(queueName), jobId };
    let latestWins: AddRequest['latestWins'];
    if (opts.dedupeId !== undefined) {
      if (opts.debounceMs !== undefined) {
        // replace: a delayed job is swapped for this one (new data, timer restarted).
        // keepLastIfActive: while one runs, the latest call is kept and runs once afterwards.
        jobOpts.deduplication = { id: opts.dedupeId, replace: true, keepLastIfActive: true };
        jobOpts.delay = opts.debounceMs;
        latestWins = { dedupeId: opts.dedupeId, replaceDelayed: true, maxWaitMs: opts.maxWaitMs, now: Date.now() };
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
   * Producers fail fast (see {@link FirstConnection}): nothing is sent unless the shared
   * connection is ready, or makes its first connection within `enqueueTimeoutMs`.
   */
  private assertConnected(queue: string): Promise<void> | undefined {
    const status = this.queues.connection.status;
    const waiting = this.firstConnection.wait(this.enqueueTimeoutMs);
    if (!waiting) return undefined;
    return waiting.then((ready) => {
      if (ready) return;
      throw new RedisUnreachableError(
        `@lota/queues: cannot enqueue to '${queue}': the Redis connection is '${status}', not ready. Nothing was sent; retry when Redis is back (the connection reconnects by itself).`,
      );
    });
  }
}
