import {
  resolveEmbeddingCacheOptions,
  type EmbeddingProvider,
  type ResolvedEmbeddingCacheOptions,
} from '@lota/embedding-cache';
import { resolveLockOptions, type LockAdapter, type ResolvedLockOptions } from '@lota/org-lock';
import {
  BUILT_IN_QUEUES,
  resolveQueuesOptions,
  type BuiltInQueue,
  type JobPayload,
  type PolicyOverrides,
  type Processor,
  type RegisterWorkerOptions,
  type ResolvedQueuesOptions,
} from '@lota/queues';
import { resolveRedisOptions, type Logger, type RedisConfig, type ResolvedRedisConfig } from '@lota/redis-connection';
import { isLogger, joinPath as join, NOT_A_LOGGER, zodIssues, type OptionIssue, type OptionsResult } from '@lota/shared';
import { z } from 'zod';

/** A worker for a built-in queue. */
export interface WorkerConfig {
  processor: Processor<JobPayload>;
  /** @defaultValue the queue policy's concurrency */
  concurrency?: number;
  /** BullMQ worker options (lockDuration, stalledInterval, maxStalledCount, limiter...). */
  workerOptions?: RegisterWorkerOptions['workerOptions'];
}

/** A worker for one of the host's own queues. */
export interface ExtraWorkerConfig {
  queue: string;
  concurrency: number;
  processor: Processor<JobPayload>;
  /** BullMQ worker options (lockDuration, stalledInterval, maxStalledCount, limiter...). */
  workerOptions?: RegisterWorkerOptions['workerOptions'];
}

/** Configuration of {@link createLotaRuntime}. */
export interface LotaRuntimeConfig {
  /** The Redis for queues and locks (should be `noeviction`). */
  redis: RedisConfig;
  aiGateway?: {
    /** Embeddings go through the cache to this provider (`runtime.embeddings`). */
    embeddingProvider?: EmbeddingProvider;
    /** Lifetime of a cached vector (`ttlSeconds` of @lota/embedding-cache). @defaultValue `EMBEDDING_CACHE_DEFAULTS.ttlSeconds` of @lota/embedding-cache */
    embeddingCacheTtlSeconds?: number;
    /** A separate Redis for the cache (an LRU policy is fine there). @defaultValue the `redis` one */
    embeddingCacheRedis?: RedisConfig;
  };
  queues?: {
    /** Namespace of queue keys. @defaultValue `redis.keyPrefix` */
    prefix?: string;
    /**
     * Per-queue overrides of the built-in policies (`maxRetries`, `backoffDelayMs`, `concurrency`,
     * `debounceMs`, `lockDurationMs`, `maxStalledCount`, and the durable enqueue's `waitForReplicas`
     * and `waitForReplicasTimeoutMs`), validated by @lota/queues' own resolver at `createLotaRuntime()`.
     */
    policies?: PolicyOverrides;
    /** @defaultValue `QUEUES_DEFAULTS.enqueueTimeoutMs` of @lota/queues */
    enqueueTimeoutMs?: number;
  };
  /**
   * Workers for built-in queues, started by `connect()`. A producer-only process configures none.
   * One worker per queue: a queue named here and in `extraWorkers` is a `CONFIG_INVALID`.
   */
  workers?: Partial<Record<BuiltInQueue, WorkerConfig>>;
  /** Workers for host queues; each queue is declared for you. One worker per queue (a repeat is `CONFIG_INVALID`). */
  extraWorkers?: ExtraWorkerConfig[];
  memoryLock?: {
    /** Replaces the Redis lock for both org and workspace memory locks. */
    adapter?: LockAdapter;
    /** Lease length. @defaultValue `LOCK_DEFAULTS.ttlMs` of @lota/org-lock */
    ttlMs?: number;
    /** @defaultValue `LOCK_DEFAULTS.acquireTimeoutMs` of @lota/org-lock */
    acquireTimeoutMs?: number;
  };
  /** pino-compatible logger, handed to every part. */
  logger?: Logger;
}

/**
 * The runtime's own defaults. Every other default belongs to the package that owns the option
 * (`REDIS_DEFAULTS`, `QUEUES_DEFAULTS`, `LOCK_DEFAULTS`, `EMBEDDING_CACHE_DEFAULTS`) and is
 * applied by that package's resolver.
 */
export const DEFAULTS = Object.freeze({
  /**
   * A cache-only Redis may (should) evict: an evicted vector is a miss, so no eviction warning there.
   * @defaultValue false
   */
  cacheRedisWarnOnEviction: false,
  /**
   * Long enough for workers to finish a typical LLM call, short enough for a deploy's grace period.
   * @defaultValue 10_000
   */
  disconnectTimeoutMs: 10_000,
});

export type { OptionIssue, OptionsResult };

/** A worker to register at `connect()`, as `registerWorker` takes it. */
export type ResolvedWorker = RegisterWorkerOptions;

/** {@link LotaRuntimeConfig} with every section resolved by the package that owns it. */
export interface ResolvedRuntimeOptions {
  readonly redis: ResolvedRedisConfig;
  /** The separate cache Redis, if any. */
  readonly cacheRedis: ResolvedRedisConfig | undefined;
  /** The queues, host queues of `extraWorkers` declared. */
  readonly queues: ResolvedQueuesOptions;
  /** The Redis lock's options (resolved even with an adapter: a bad value is a bad value). */
  readonly lock: ResolvedLockOptions;
  readonly lockAdapter: LockAdapter | undefined;
  readonly cache: ResolvedEmbeddingCacheOptions;
  readonly embeddingProvider: EmbeddingProvider | undefined;
  /** `workers` then `extraWorkers`, in order. */
  readonly workers: readonly ResolvedWorker[];
}

const fn = (what: string) => z.custom<Processor<JobPayload>>((v) => typeof v === 'function', `must be a function (${what})`);
const obj = <T>(what: string, keys: string[]) =>
  z.custom<T>((v) => typeof v === 'object' && v !== null && keys.every((k) => k in v), `must be ${what}`);
const int = (min: number) => z.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be >= ${min}`);
/** A key whose value the owning package's resolver checks: here only its place in the config. */
const owned = z.unknown().optional();

const workerOptions = z.record(z.string(), z.unknown()).optional();
const workerSchema = z.strictObject({ processor: fn('the job processor'), concurrency: int(1).optional(), workerOptions });

/**
 * The runtime's schema: which sections and keys exist, and the values only the runtime uses
 * (workers, provider, adapter, logger). Values of `owned` keys are checked by their package.
 */
const schema = z.strictObject({
  redis: owned,
  aiGateway: z
    .strictObject({
      embeddingProvider: obj<EmbeddingProvider>('an embedding provider: { model, embed(texts) }', ['model', 'embed']).optional(),
      embeddingCacheTtlSeconds: owned,
      embeddingCacheRedis: owned,
    })
    .optional(),
  queues: z.strictObject({ prefix: owned, policies: owned, enqueueTimeoutMs: owned }).optional(),
  workers: z.strictObject(Object.fromEntries(BUILT_IN_QUEUES.map((q) => [q, workerSchema.optional()]))).optional(),
  extraWorkers: z
    .array(z.strictObject({ queue: z.string().min(1, 'must name the queue'), concurrency: int(1), processor: fn('the job processor'), workerOptions }))
    .optional(),
  memoryLock: z
    .strictObject({
      adapter: obj<LockAdapter>('a lock adapter: { withLock(scope, fn, opts) }', ['withLock']).optional(),
      ttlMs: owned,
      acquireTimeoutMs: owned,
    })
    .optional(),
  logger: z.custom<Logger>(isLogger, NOT_A_LOGGER).optional(),
});

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `input` with `extra` under it, when `input` is an object (anything else goes to the resolver as it is, to be refused). */
const withDefaults = (extra: Record<string, unknown>, input: unknown): unknown => (input === undefined ? extra : isPlainObject(input) ? { ...extra, ...input } : input);
/** `{ key: value }` for the keys whose value is given: the packages' defaults apply to the rest. */
const given = (entries: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));

/**
 * One worker per queue: a second one (in `workers` and `extraWorkers`, or twice in `extraWorkers`)
 * would start a second BullMQ Worker on the same queue and silently double its concurrency.
 */
function duplicateWorkers(raw: Record<string, unknown>, path: string): OptionIssue[] {
  const issues: OptionIssue[] = [];
  const firstPath = new Map<string, string>();
  const workers = raw.workers;
  if (isPlainObject(workers)) {
    for (const [queue, w] of Object.entries(workers)) if (w !== undefined) firstPath.set(queue, join(path, 'workers', queue));
  }
  const extra = Array.isArray(raw.extraWorkers) ? (raw.extraWorkers as unknown[]) : [];
  extra.forEach((w, i) => {
    const queue = isPlainObject(w) ? w.queue : undefined;
    if (typeof queue !== 'string' || queue === '') return;
    const at = join(path, 'extraWorkers', String(i), 'queue');
    const first = firstPath.get(queue);
    if (first === undefined) {
      firstPath.set(queue, at);
      return;
    }
    issues.push({
      path: at,
      message: `queue '${queue}' already has a worker (${first}); one worker per queue: remove one of them and set the concurrency you want on the other (two workers would double the queue's concurrency)`,
    });
  });
  return issues;
}

/**
 * The `queues` section for @lota/queues' resolver: the host queues of `extraWorkers` are declared
 * (an empty policy each), and a problem with such a declared name is reported at the worker.
 */
function resolveQueuesSection(
  raw: Record<string, unknown>,
  extra: ReadonlyArray<{ queue: string }>,
  keyPrefix: string | undefined,
  logger: Logger | undefined,
  path: string,
): OptionsResult<ResolvedQueuesOptions> {
  // Not an object: the runtime's schema reports it; the queues get their defaults.
  const section = isPlainObject(raw.queues) ? raw.queues : {};
  const declaredBy = new Map<string, number>();
  let policies = section.policies;
  if (policies === undefined || isPlainObject(policies)) {
    const merged: Record<string, unknown> = { ...policies };
    extra.forEach((w, i) => {
      if (w.queue === '' || Object.hasOwn(merged, w.queue)) return;
      merged[w.queue] = {};
      declaredBy.set(w.queue, i);
    });
    policies = merged;
  }
  const input = { ...given({ prefix: keyPrefix, logger }), ...given({ ...section, policies }) };
  const result = resolveQueuesOptions(input, join(path, 'queues'));
  if (result.ok || declaredBy.size === 0) return result;
  const policiesPath = join(path, 'queues', 'policies');
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      for (const [queue, i] of declaredBy) {
        if (issue.path === `${policiesPath}.${queue}` || issue.path.startsWith(`${policiesPath}.${queue}.`)) {
          return { path: join(path, 'extraWorkers', String(i), 'queue'), message: issue.message };
        }
      }
      return issue;
    }),
  };
}

/** The package's issues at the runtime's names for its options (`renames`: package path -> runtime path). */
function renamed<T>(result: OptionsResult<T>, renames: Readonly<Record<string, string>>): OptionsResult<T> {
  if (result.ok) return result;
  return { ok: false, issues: result.issues.map((i) => ({ path: renames[i.path] ?? i.path, message: i.message })) };
}

/** `workers` then `extraWorkers`, as `registerWorker` takes them. */
function workerList(config: z.infer<typeof schema>): ResolvedWorker[] {
  const list: ResolvedWorker[] = [];
  const add = (queue: string, w: { processor: Processor<JobPayload>; concurrency?: number | undefined; workerOptions?: Record<string, unknown> | undefined }): void => {
    list.push({
      queue,
      processor: w.processor,
      ...(w.concurrency === undefined ? {} : { concurrency: w.concurrency }),
      ...(w.workerOptions === undefined ? {} : { workerOptions: w.workerOptions }),
    });
  };
  for (const [queue, w] of Object.entries(config.workers ?? {})) if (w) add(queue, w);
  for (const w of config.extraWorkers ?? []) add(w.queue, w);
  return list;
}

/**
 * Validates the whole config and resolves every section with its owner's resolver, under the
 * runtime's own dot paths (prefixed with `path`): `redis` and `aiGateway.embeddingCacheRedis` by
 * @lota/redis-connection, `queues` by @lota/queues, `memoryLock` by @lota/org-lock,
 * `aiGateway.embeddingCacheTtlSeconds` by @lota/embedding-cache. Returns every problem at once.
 */
export function resolveRuntimeOptions(input: unknown, path = ''): OptionsResult<ResolvedRuntimeOptions> {
  const parsed = schema.safeParse(input);
  const issues: OptionIssue[] = parsed.success ? [] : zodIssues(parsed.error, path);
  const raw = isPlainObject(input) ? input : {};
  issues.push(...duplicateWorkers(raw, path));
  // Values the runtime hands to every part, when they are valid (a bad one is reported once, here).
  const logger = isLogger(raw.logger) ? raw.logger : undefined;
  const gateway = isPlainObject(raw.aiGateway) ? raw.aiGateway : {};
  const lockSection = isPlainObject(raw.memoryLock) ? raw.memoryLock : {};
  const extra = (Array.isArray(raw.extraWorkers) ? (raw.extraWorkers as unknown[]) : []).flatMap((w) =>
    isPlainObject(w) && typeof w.queue === 'string' ? [{ queue: w.queue }] : [],
  );

  const redis = resolveRedisOptions(withDefaults(given({ logger }), raw.redis), join(path, 'redis'));
  const keyPrefix = redis.ok ? redis.value.keyPrefix : undefined;
  const cacheRedis =
    gateway.embeddingCacheRedis === undefined
      ? undefined
      : resolveRedisOptions(
          withDefaults(given({ logger, warnOnEviction: DEFAULTS.cacheRedisWarnOnEviction }), gateway.embeddingCacheRedis),
          join(path, 'aiGateway', 'embeddingCacheRedis'),
        );
  const queues = resolveQueuesSection(raw, extra, keyPrefix, logger, path);
  const lock = resolveLockOptions(
    given({ prefix: keyPrefix, ttlMs: lockSection.ttlMs, acquireTimeoutMs: lockSection.acquireTimeoutMs, logger }),
    join(path, 'memoryLock'),
  );
  const cache = renamed(resolveEmbeddingCacheOptions(given({ prefix: keyPrefix, ttlSeconds: gateway.embeddingCacheTtlSeconds, logger }), join(path, 'aiGateway')), {
    [join(path, 'aiGateway', 'ttlSeconds')]: join(path, 'aiGateway', 'embeddingCacheTtlSeconds'),
  });
  for (const result of [redis, cacheRedis, queues, lock, cache]) if (result && !result.ok) issues.push(...result.issues);

  if (issues.length > 0 || !parsed.success || !redis.ok || (cacheRedis && !cacheRedis.ok) || !queues.ok || !lock.ok || !cache.ok) {
    return { ok: false, issues };
  }
  const config = parsed.data;
  return {
    ok: true,
    value: Object.freeze({
      redis: redis.value,
      cacheRedis: cacheRedis?.value,
      queues: queues.value,
      lock: lock.value,
      lockAdapter: config.memoryLock?.adapter,
      cache: cache.value,
      embeddingProvider: config.aiGateway?.embeddingProvider,
      workers: Object.freeze(workerList(config)),
    }),
  };
}
