import { QUEUE_NAME, QUEUE_NAME_RULE, type Logger } from '@lota/shared';
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { InvalidArgumentError, QueuesClosedError } from './errors.js';
import { queuePrefix } from './hash-tag.js';
import type { ResolvedQueuesOptions } from './options.js';
import type { QueuePolicy } from './policies.js';

/**
 * The queues one {@link LotaQueues} knows, over its one connection: their resolved policies, the
 * BullMQ job defaults those give, and their BullMQ `Queue` objects, made on first use. The
 * enqueue path, the workers and the facade share it, and with it the instance's closing state.
 */
export class QueueSet {
  /** Every queue this instance knows: the four built-ins plus host queues named in `policies`. */
  readonly names: readonly string[];
  readonly prefix: string;
  readonly logger: Logger;
  /** Set by `close()` of the instance (idempotent): from then on nothing new starts. */
  closing: Promise<void> | undefined;
  private readonly policies: Map<string, QueuePolicy>;
  private readonly keepCompleted: { count: number; age: number };
  private readonly keepFailed: { count: number; age: number };
  private readonly queues = new Map<string, Queue>();

  constructor(
    readonly connection: Redis | Cluster,
    opts: ResolvedQueuesOptions,
  ) {
    this.prefix = opts.prefix;
    this.policies = new Map(Array.from(opts.policies, ([name, policy]) => [name, { ...policy }]));
    this.names = [...this.policies.keys()];
    this.logger = opts.logger;
    this.keepCompleted = { count: opts.keepCompleted.count, age: opts.keepCompleted.ageSeconds };
    this.keepFailed = { count: opts.keepFailed.count, age: opts.keepFailed.ageSeconds };
  }

  has(queue: string): boolean {
    return this.policies.has(queue);
  }

  /** The resolved policy of a queue. */
  policy(queue: string): Readonly<QueuePolicy> {
    const policy = this.policies.get(queue);
    if (!policy) throw this.unknownQueue(queue);
    return policy;
  }

  /** The BullMQ `Queue`, made on first use. */
  get(name: string): Queue {
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
  jobDefaults(queue: string): DefaultJobOptions {
    const policy = this.policy(queue);
    return {
      attempts: policy.maxRetries + 1,
      backoff: { type: 'exponential', delay: policy.backoffDelayMs },
      removeOnComplete: this.keepCompleted,
      removeOnFail: this.keepFailed,
    };
  }

  /** Starts closing every BullMQ `Queue` made so far (the connection is the caller's: it stays open). */
  closeAll(): Array<Promise<void>> {
    return [...this.queues.values()].map((q) => q.close());
  }

  /** Forgets the closed queues. */
  clear(): void {
    this.queues.clear();
  }

  unknownQueue(queue: string): InvalidArgumentError {
    const shown: unknown = queue; // JS callers may pass anything
    const valid = typeof queue === 'string' && QUEUE_NAME.test(queue);
    return new InvalidArgumentError(
      `@lota/queues: unknown queue '${String(shown)}'. Known queues: ${this.names.join(', ')}. ` +
        (valid ? `Declare a host queue by giving it a policy: createQueues({ policies: { '${queue}': {} } }).` : `Check the name: ${QUEUE_NAME_RULE}.`),
    );
  }
}
