import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { QueuesConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { DEFAULT_POLICY, type PolicyOverrides } from './policies.js';

/** Options of {@link createQueues}. */
export interface CreateQueuesOptions {
  /** An ioredis client for BullMQ: `maxRetriesPerRequest: null`, no `keyPrefix`. Shared by every queue; workers duplicate it for their blocking connection. */
  connection: Redis | Cluster;
  /** Namespace of every queue key; each queue gets the hash tag `{<queue>}` after it. @defaultValue 'lota' */
  prefix?: string;
  /** Per-queue policy overrides; a name that is not built in declares a host queue. */
  policies?: PolicyOverrides;
  /**
   * Bound on one enqueue while Redis is connected but silent (paused, partitioned). For a durable
   * enqueue (`waitForReplicas`) it bounds the add and the WAIT together.
   * @defaultValue 5_000
   */
  enqueueTimeoutMs?: number;
  /** Largest serialised job data accepted. @defaultValue 262_144 (256 KiB) */
  maxPayloadBytes?: number;
  /** Completed jobs kept for inspection (count and age). @defaultValue { count: 1_000, ageSeconds: 86_400 } */
  keepCompleted?: { count: number; ageSeconds: number };
  /** Failed jobs (after their last attempt) kept for inspection. @defaultValue { count: 10_000, ageSeconds: 604_800 } */
  keepFailed?: { count: number; ageSeconds: number };
  /** pino-compatible logger. @defaultValue warnings and errors to stderr */
  logger?: Logger;
}

/** Producers are on a request path: 5 s is long for a user, short enough to fail over to an error. */
export const DEFAULT_ENQUEUE_TIMEOUT_MS = 5_000;

export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const nonNegInt = z.number().int('must be a whole number').min(0, 'must be >= 0');
const positiveInt = z.number().int('must be a whole number').min(1, 'must be >= 1');
const policy = z.strictObject({
  maxRetries: nonNegInt.max(100, 'must be <= 100').optional(),
  backoffDelayMs: nonNegInt.optional(),
  concurrency: positiveInt.max(10_000).optional(),
  debounceMs: nonNegInt.optional(),
  // Below 100 ms a lock cannot survive one round trip plus a GC pause.
  lockDurationMs: nonNegInt.min(100, 'must be >= 100 (milliseconds)').optional(),
  maxStalledCount: nonNegInt.max(1_000, 'must be <= 1000').optional(),
  waitForReplicas: nonNegInt.optional(),
  // WAIT's timeout 0 means "block forever": a bounded enqueue can never send it.
  waitForReplicasTimeoutMs: positiveInt.optional(),
});
const keep = z.strictObject({ count: nonNegInt, ageSeconds: nonNegInt });

const schema = z
  .strictObject({
    connection: z.custom<Redis | Cluster>(
      (v) => typeof v === 'object' && v !== null && typeof (v as { duplicate?: unknown }).duplicate === 'function' && 'status' in v,
      'must be an ioredis Redis or Cluster instance',
    ),
    prefix: z.string().regex(/^[^\s{}]+$/, 'must be non-empty, without spaces or braces (braces are reserved for hash tags)').optional(),
    policies: z.record(z.string().regex(QUEUE_NAME, 'queue names are letters, digits, . _ - (no ":" or braces)'), policy).optional(),
    enqueueTimeoutMs: positiveInt.optional(),
    maxPayloadBytes: positiveInt.optional(),
    keepCompleted: keep.optional(),
    keepFailed: keep.optional(),
    logger: z
      .custom<Logger>(
        (v) => typeof v === 'object' && v !== null && ['debug', 'info', 'warn', 'error'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function'),
        'must have debug, info, warn and error functions',
      )
      .optional(),
  })
  .superRefine((opts, ctx) => {
    // A WAIT that may outlast the call's own bound would turn its clear answer (not replicated,
    // but enqueued) into an ENQUEUE_TIMEOUT that cannot say whether the job exists.
    const bound = opts.enqueueTimeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS;
    for (const [queue, p] of Object.entries(opts.policies ?? {})) {
      if ((p.waitForReplicas ?? 0) === 0 && p.waitForReplicasTimeoutMs === undefined) continue;
      const timeoutMs = p.waitForReplicasTimeoutMs ?? DEFAULT_POLICY.waitForReplicasTimeoutMs;
      if (timeoutMs >= bound) {
        ctx.addIssue({
          code: 'custom',
          path: ['policies', queue, 'waitForReplicasTimeoutMs'],
          message: `must be lower than enqueueTimeoutMs (${bound} ms), which bounds the whole enqueue, WAIT included; lower it${p.waitForReplicasTimeoutMs === undefined ? ` (default ${timeoutMs})` : ''} or raise enqueueTimeoutMs`,
        });
      }
    }
  });

/** The per-node options of a client (a Cluster keeps them under `redisOptions`). */
export function clientOptions(client: Redis | Cluster): { keyPrefix?: string | undefined; maxRetriesPerRequest?: number | null | undefined } {
  const o = client.options as { keyPrefix?: string; maxRetriesPerRequest?: number | null; redisOptions?: { keyPrefix?: string; maxRetriesPerRequest?: number | null } };
  return o.redisOptions ?? o;
}

/** Validates options; throws `CONFIG_INVALID` listing every problem by dot path. */
export function validateCreateOptions(opts: unknown): CreateQueuesOptions {
  const parsed = schema.safeParse(opts);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) => {
      const at = i.path.map(String).join('.');
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `  - ${[at, k].filter(Boolean).join('.')}: unknown option; remove it or check its spelling`);
      if (i.code === 'invalid_key') return [`  - ${at}: ${i.issues.map((x) => x.message).join('; ')}`];
      return [`  - ${at || '(options)'}: ${i.message}`];
    });
    throw new QueuesConfigError(`@lota/queues: invalid createQueues() options:\n${lines.join('\n')}`);
  }
  const options = clientOptions(parsed.data.connection);
  if (options.keyPrefix) {
    throw new QueuesConfigError(
      '@lota/queues: connection has an ioredis keyPrefix, which BullMQ cannot work with; remove keyPrefix from the client and use the prefix option of createQueues() instead.',
    );
  }
  if (options.maxRetriesPerRequest !== null) {
    throw new QueuesConfigError(
      '@lota/queues: connection must have maxRetriesPerRequest: null (BullMQ workers block and must wait for Redis to return); use a dedicated client such as manager.getConnectionForBullMQ().',
    );
  }
  return parsed.data;
}
