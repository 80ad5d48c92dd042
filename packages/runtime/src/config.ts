import type { EmbeddingProvider } from '@lota/embedding-cache';
import type { LockAdapter } from '@lota/org-lock';
import { BUILT_IN_QUEUES, type BuiltInQueue, type JobPayload, type PolicyOverrides, type Processor, type RegisterWorkerOptions } from '@lota/queues';
import { ConfigError, resolveRedisConfig, type Logger, type RedisConfig } from '@lota/redis-connection';
import { z } from 'zod';
import { RuntimeConfigError } from './errors.js';

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
    /** Lifetime of a cached vector. @defaultValue 86_400 */
    embeddingCacheTtlSeconds?: number;
    /** A separate Redis for the cache (an LRU policy is fine there). @defaultValue the `redis` one */
    embeddingCacheRedis?: RedisConfig;
  };
  queues?: {
    /** Namespace of queue keys. @defaultValue `redis.keyPrefix` ('lota') */
    prefix?: string;
    /**
     * Per-queue overrides of the built-in policies (`maxRetries`, `backoffDelayMs`, `concurrency`,
     * `debounceMs`, `lockDurationMs`, `maxStalledCount`, and the durable enqueue's `waitForReplicas`
     * and `waitForReplicasTimeoutMs`), validated here and passed to @lota/queues as given.
     */
    policies?: PolicyOverrides;
    /** @defaultValue 5_000 */
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
    /** @defaultValue 30_000 */
    ttlMs?: number;
    /** @defaultValue 60_000 */
    acquireTimeoutMs?: number;
  };
  /** pino-compatible logger, handed to every part. */
  logger?: Logger;
}

const fn = (what: string) => z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', `must be a function (${what})`);
const obj = (what: string, keys: string[]) =>
  z.custom<object>((v) => typeof v === 'object' && v !== null && keys.every((k) => k in v), `must be ${what}`);
const int = (min: number) => z.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be >= ${min}`);

const workerOptions = z.record(z.string(), z.unknown()).optional();
const workerSchema = z.strictObject({ processor: fn('the job processor'), concurrency: int(1).optional(), workerOptions });

const schema = z.strictObject({
  redis: z.unknown(),
  aiGateway: z
    .strictObject({
      embeddingProvider: obj('an embedding provider: { model, embed(texts) }', ['model', 'embed']).optional(),
      embeddingCacheTtlSeconds: int(1).optional(),
      embeddingCacheRedis: z.unknown().optional(),
    })
    .optional(),
  queues: z
    .strictObject({
      prefix: z.string().optional(),
      policies: z
        .record(
          z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'queue names are letters, digits, . _ - (no ":" or braces)'),
          z.strictObject({
            maxRetries: int(0).optional(),
            backoffDelayMs: int(0).optional(),
            concurrency: int(1).optional(),
            debounceMs: int(0).optional(),
            lockDurationMs: int(100).optional(),
            maxStalledCount: int(0).optional(),
            waitForReplicas: int(0).optional(),
            waitForReplicasTimeoutMs: int(1).optional(),
          }),
        )
        .optional(),
      enqueueTimeoutMs: int(1).optional(),
    })
    .optional(),
  workers: z.strictObject(Object.fromEntries(BUILT_IN_QUEUES.map((q) => [q, workerSchema.optional()]))).optional(),
  extraWorkers: z
    .array(z.strictObject({ queue: z.string().min(1, 'must name the queue'), concurrency: int(1), processor: fn('the job processor'), workerOptions }))
    .optional(),
  memoryLock: z
    .strictObject({
      adapter: obj('a lock adapter: { withLock(scope, fn, opts) }', ['withLock']).optional(),
      ttlMs: int(10).optional(),
      acquireTimeoutMs: int(0).optional(),
    })
    .optional(),
  logger: obj('a logger with debug, info, warn and error', ['debug', 'info', 'warn', 'error']).optional(),
});

type Issue = { path: string; message: string };

/** @lota/queues' defaults, for the cross-field check below (it validates them again at connect()). */
const QUEUES_DEFAULTS = { enqueueTimeoutMs: 5_000, waitForReplicasTimeoutMs: 1_000 } as const;

/**
 * A durable queue's WAIT timeout must stay under `queues.enqueueTimeoutMs`, which bounds the whole
 * enqueue: checked here so the mistake is reported at createLotaRuntime(), not at connect().
 */
function replicaWaitIssues(raw: Record<string, unknown>): Issue[] {
  const queues = raw.queues as { enqueueTimeoutMs?: unknown; policies?: unknown } | undefined;
  if (typeof queues !== 'object' || queues === null || typeof queues.policies !== 'object' || queues.policies === null) return [];
  const bound = typeof queues.enqueueTimeoutMs === 'number' ? queues.enqueueTimeoutMs : QUEUES_DEFAULTS.enqueueTimeoutMs;
  const issues: Issue[] = [];
  for (const [queue, policy] of Object.entries(queues.policies as Record<string, unknown>)) {
    if (typeof policy !== 'object' || policy === null) continue;
    const { waitForReplicas, waitForReplicasTimeoutMs } = policy as { waitForReplicas?: unknown; waitForReplicasTimeoutMs?: unknown };
    if (!(typeof waitForReplicas === 'number' && waitForReplicas > 0) && waitForReplicasTimeoutMs === undefined) continue;
    const timeout = typeof waitForReplicasTimeoutMs === 'number' ? waitForReplicasTimeoutMs : QUEUES_DEFAULTS.waitForReplicasTimeoutMs;
    if (timeout >= bound) {
      issues.push({
        path: `queues.policies.${queue}.waitForReplicasTimeoutMs`,
        message: `must be lower than queues.enqueueTimeoutMs (${bound} ms), which bounds the whole enqueue, WAIT included; lower it${waitForReplicasTimeoutMs === undefined ? ` (default ${timeout})` : ''} or raise queues.enqueueTimeoutMs`,
      });
    }
  }
  return issues;
}

/**
 * One worker per queue: a second one (in `workers` and `extraWorkers`, or twice in `extraWorkers`)
 * would start a second BullMQ Worker on the same queue and silently double its concurrency.
 */
function duplicateWorkers(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const firstPath = new Map<string, string>();
  const workers = raw.workers;
  if (typeof workers === 'object' && workers !== null) {
    for (const [queue, w] of Object.entries(workers)) if (w !== undefined) firstPath.set(queue, `workers.${queue}`);
  }
  const extra = Array.isArray(raw.extraWorkers) ? (raw.extraWorkers as unknown[]) : [];
  extra.forEach((w, i) => {
    const queue = typeof w === 'object' && w !== null ? (w as { queue?: unknown }).queue : undefined;
    if (typeof queue !== 'string' || queue === '') return;
    const path = `extraWorkers.${i}.queue`;
    const first = firstPath.get(queue);
    if (first === undefined) {
      firstPath.set(queue, path);
      return;
    }
    issues.push({
      path,
      message: `queue '${queue}' already has a worker (${first}); one worker per queue: remove one of them and set the concurrency you want on the other (two workers would double the queue's concurrency)`,
    });
  });
  return issues;
}

/**
 * Validates the whole config and returns every problem at once, by dot path: unknown keys and
 * wrong types here, and the Redis sections through @lota/redis-connection's own validation.
 */
export function validateRuntimeConfig(input: unknown): LotaRuntimeConfig {
  const issues: Issue[] = [];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const at = i.path.map(String).join('.');
      if (i.code === 'unrecognized_keys') {
        for (const k of i.keys) issues.push({ path: [at, k].filter(Boolean).join('.'), message: 'unknown option; remove it or check its spelling' });
      } else if (i.code === 'invalid_key') {
        issues.push({ path: at, message: i.issues.map((x) => x.message).join('; ') });
      } else issues.push({ path: at, message: i.message });
    }
  }
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  issues.push(...duplicateWorkers(raw));
  issues.push(...replicaWaitIssues(raw));
  const redisSections: Array<[unknown, string]> = [[raw.redis ?? {}, 'redis']];
  const gateway = raw.aiGateway as Record<string, unknown> | undefined;
  if (gateway?.embeddingCacheRedis !== undefined) redisSections.push([gateway.embeddingCacheRedis, 'aiGateway.embeddingCacheRedis']);
  for (const [section, path] of redisSections) {
    try {
      resolveRedisConfig(section, path);
    } catch (err) {
      if (err instanceof ConfigError) issues.push(...err.issues);
      else throw err;
    }
  }
  if (issues.length > 0) throw new RuntimeConfigError(issues);
  return input as LotaRuntimeConfig;
}
