import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { ResolvedMarks, createStderrLogger, isLogger, joinPath, KEY_PREFIX, KEY_PREFIX_RULE, NOT_A_LOGGER, QUEUE_NAME, QUEUE_NAME_RULE, zodIssues, type Logger, type OptionIssue, type OptionsResult } from '@lota/shared';
import { ConfigError } from './errors.js';
import { MAX_CONCURRENCY } from './worker-options.js';
import { DEFAULT_POLICY, resolvePolicies, type PolicyOverrides, type QueuePolicy } from './policies.js';

/** Options of {@link createQueues}. Defaults: {@link DEFAULTS}. */
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

/** {@link CreateQueuesOptions} without the client: what {@link resolveQueuesOptions} validates. */
export type QueuesSettings = Omit<CreateQueuesOptions, 'connection'>;

/** How many jobs, and for how long, BullMQ keeps after they finish. */
export interface KeepJobs {
  count: number;
  ageSeconds: number;
}

/**
 * Every default of {@link CreateQueuesOptions} (queue policies have theirs in `DEFAULT_POLICY`
 * and `BUILT_IN_POLICIES`): `createQueues` and `@lota/runtime` read them from here.
 */
export const DEFAULTS = Object.freeze({
  /**
   * The SDK's one namespace, the same as `@lota/redis-connection`'s `keyPrefix`.
   * @defaultValue 'lota'
   */
  prefix: 'lota',
  /**
   * Producers are on a request path: 5 s is long for a user, short enough to fail over to an error.
   * @defaultValue 5_000
   */
  enqueueTimeoutMs: 5_000,
  /**
   * Job data travels through Redis on every attempt: large documents belong in a store, with
   * their id in the job.
   * @defaultValue 262_144 (256 KiB)
   */
  maxPayloadBytes: 256 * 1024,
  /**
   * Enough history to inspect a day of work without letting completed jobs fill Redis.
   * @defaultValue { count: 1_000, ageSeconds: 86_400 }
   */
  keepCompleted: Object.freeze({ count: 1_000, ageSeconds: 86_400 }),
  /**
   * Failures are rarer and worth a week of post-mortem.
   * @defaultValue { count: 10_000, ageSeconds: 604_800 }
   */
  keepFailed: Object.freeze({ count: 10_000, ageSeconds: 7 * 86_400 }),
});

/** {@link QueuesSettings} validated, with every default applied and every queue's policy resolved. */
export interface ResolvedQueuesOptions {
  readonly prefix: string;
  /** Every queue: the built-ins with their overrides, then the host queues, in declaration order. */
  readonly policies: ReadonlyMap<string, Readonly<QueuePolicy>>;
  readonly enqueueTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly keepCompleted: Readonly<KeepJobs>;
  readonly keepFailed: Readonly<KeepJobs>;
  readonly logger: Logger;
}

export type { OptionIssue, OptionsResult };

const num = z.number({ error: 'must be a number' });
const nonNegInt = num.int('must be a whole number').min(0, 'must be >= 0');
const positiveInt = num.int('must be a whole number').min(1, 'must be >= 1');
const policy = z.strictObject({
  maxRetries: nonNegInt.max(100, 'must be <= 100').optional(),
  backoffDelayMs: nonNegInt.optional(),
  concurrency: positiveInt.max(MAX_CONCURRENCY, `must be <= ${MAX_CONCURRENCY}`).optional(),
  debounceMs: nonNegInt.optional(),
  maxWaitMs: nonNegInt.optional(),
  // Below 100 ms a lock cannot survive one round trip plus a GC pause.
  lockDurationMs: nonNegInt.min(100, 'must be >= 100 (milliseconds)').optional(),
  maxStalledCount: nonNegInt.max(1_000, 'must be <= 1000').optional(),
  waitForReplicas: nonNegInt.optional(),
  // WAIT's timeout 0 means "block forever": a bounded enqueue can never send it.
  waitForReplicasTimeoutMs: positiveInt.optional(),
});
const keep = z.strictObject({ count: nonNegInt, ageSeconds: nonNegInt });

/** The one schema of {@link QueuesSettings}. */
const schema = z.strictObject({
  prefix: z.string().regex(KEY_PREFIX, KEY_PREFIX_RULE).optional(),
  policies: z.record(z.string().regex(QUEUE_NAME, QUEUE_NAME_RULE), policy).optional(),
  enqueueTimeoutMs: positiveInt.optional(),
  maxPayloadBytes: positiveInt.optional(),
  keepCompleted: keep.optional(),
  keepFailed: keep.optional(),
  logger: z.custom<Logger>(isLogger, NOT_A_LOGGER).optional(),
});

/**
 * A durable queue's WAIT may not outlast the call's own bound: it would turn its clear answer
 * (not replicated, but enqueued) into an ENQUEUE_TIMEOUT that cannot say whether the job exists.
 */
function replicaWaitIssues(opts: z.infer<typeof schema>, path: string): OptionIssue[] {
  const bound = opts.enqueueTimeoutMs ?? DEFAULTS.enqueueTimeoutMs;
  const name = joinPath(path, 'enqueueTimeoutMs');
  const issues: OptionIssue[] = [];
  for (const [queue, p] of Object.entries(opts.policies ?? {})) {
    if ((p.waitForReplicas ?? 0) === 0 && p.waitForReplicasTimeoutMs === undefined) continue;
    const timeoutMs = p.waitForReplicasTimeoutMs ?? DEFAULT_POLICY.waitForReplicasTimeoutMs;
    if (timeoutMs >= bound) {
      issues.push({
        path: joinPath(path, 'policies', queue, 'waitForReplicasTimeoutMs'),
        message: `must be lower than ${name} (${bound} ms), which bounds the whole enqueue, WAIT included; lower it${p.waitForReplicasTimeoutMs === undefined ? ` (default ${timeoutMs})` : ''} or raise ${name}`,
      });
    }
  }
  return issues;
}

/** A maximum wait shorter than the debounce window it bounds would make the window meaningless. */
function maxWaitIssues(policies: ReadonlyMap<string, QueuePolicy>, overrides: PolicyOverrides, path: string): OptionIssue[] {
  const issues: OptionIssue[] = [];
  for (const [queue, p] of policies) {
    if (p.maxWaitMs === 0 || p.maxWaitMs >= p.debounceMs) continue;
    const given = overrides[queue]?.maxWaitMs !== undefined;
    issues.push({
      path: joinPath(path, 'policies', queue, given ? 'maxWaitMs' : 'debounceMs'),
      message: given
        ? `must be at least debounceMs (${p.debounceMs}), or 0 for no maximum`
        : `must be at most maxWaitMs (${p.maxWaitMs}, the queue's default); lower it, or raise maxWaitMs (0 for no maximum)`,
    });
  }
  return issues;
}

/** Values made by {@link resolveQueuesOptions}: `createQueues` takes them as they are, without a second parse. */
const resolvedOptions = new ResolvedMarks<ResolvedQueuesOptions>();

/** Whether `value` came out of {@link resolveQueuesOptions} (a look-alike object does not count). */
export function isResolvedQueuesOptions(value: unknown): value is ResolvedQueuesOptions {
  return resolvedOptions.has(value);
}

/**
 * Validates {@link QueuesSettings} (everything but the client) and applies {@link DEFAULTS} and
 * the queue policies: the resolved options (frozen; hand them to `createQueues(connection,
 * resolved)`), or every problem by dot path under `path` (e.g. `'queues'` inside a runtime
 * config). Never throws for bad input.
 */
export function resolveQueuesOptions(input: unknown, path = ''): OptionsResult<ResolvedQueuesOptions> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error, path) };
  const opts = parsed.data;
  const overrides = (opts.policies ?? {}) as PolicyOverrides;
  const policies = resolvePolicies(overrides);
  const issues = [...replicaWaitIssues(opts, path), ...maxWaitIssues(policies, overrides, path)];
  if (issues.length > 0) return { ok: false, issues };
  const value: ResolvedQueuesOptions = Object.freeze({
    prefix: opts.prefix ?? DEFAULTS.prefix,
    policies,
    enqueueTimeoutMs: opts.enqueueTimeoutMs ?? DEFAULTS.enqueueTimeoutMs,
    maxPayloadBytes: opts.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes,
    keepCompleted: Object.freeze({ ...(opts.keepCompleted ?? DEFAULTS.keepCompleted) }),
    keepFailed: Object.freeze({ ...(opts.keepFailed ?? DEFAULTS.keepFailed) }),
    logger: opts.logger ?? createStderrLogger('lota:queues'),
  });
  return { ok: true, value: resolvedOptions.mark(value) };
}

/** The per-node options of a client (a Cluster keeps them under `redisOptions`). */
export function clientOptions(client: Redis | Cluster): { keyPrefix?: string | undefined; maxRetriesPerRequest?: number | null | undefined } {
  const o = client.options as { keyPrefix?: string; maxRetriesPerRequest?: number | null; redisOptions?: { keyPrefix?: string; maxRetriesPerRequest?: number | null } };
  return o.redisOptions ?? o;
}

const isClient = (v: unknown): v is Redis | Cluster =>
  typeof v === 'object' && v !== null && typeof (v as { duplicate?: unknown }).duplicate === 'function' && 'status' in v;

function invalidOptions(issues: readonly OptionIssue[]): ConfigError {
  return new ConfigError('@lota/queues: createQueues()', issues);
}

/** A client BullMQ can work with: no ioredis keyPrefix, `maxRetriesPerRequest: null`. Throws `CONFIG_INVALID` otherwise. */
export function checkConnection(connection: unknown): Redis | Cluster {
  if (!isClient(connection)) throw invalidOptions([{ path: 'connection', message: 'must be an ioredis Redis or Cluster instance' }]);
  const options = clientOptions(connection);
  if (options.keyPrefix) {
    throw invalidOptions([
      { path: 'connection', message: 'has an ioredis keyPrefix, which BullMQ cannot work with; remove keyPrefix from the client and use the prefix option of createQueues() instead' },
    ]);
  }
  if (options.maxRetriesPerRequest !== null) {
    throw invalidOptions([
      { path: 'connection', message: 'must have maxRetriesPerRequest: null (BullMQ workers block and must wait for Redis to return); use a dedicated client such as manager.getConnectionForBullMQ()' },
    ]);
  }
  return connection;
}

/**
 * `createQueues(options)`: the client checked and the rest resolved by {@link resolveQueuesOptions};
 * throws `CONFIG_INVALID` listing every problem by dot path.
 */
export function validateCreateOptions(opts: unknown): { connection: Redis | Cluster; resolved: ResolvedQueuesOptions } {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw invalidOptions([{ path: '', message: 'createQueues() takes an options object with a connection' }]);
  }
  const { connection, ...settings } = opts as Record<string, unknown>;
  const issues: OptionIssue[] = isClient(connection) ? [] : [{ path: 'connection', message: 'must be an ioredis Redis or Cluster instance' }];
  const result = resolveQueuesOptions(settings);
  if (!result.ok) issues.push(...result.issues);
  if (issues.length > 0 || !result.ok) throw invalidOptions(issues);
  return { connection: checkConnection(connection), resolved: result.value };
}
