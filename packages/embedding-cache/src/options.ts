import type { Cluster, Redis } from 'ioredis';
import { collectOptions, createStderrLogger, isLogger, keyPrefixProblem, NOT_A_LOGGER, ResolvedMarks, type Logger, type OptionIssue, type OptionsResult } from '@lota/shared';
import { ConfigError } from './errors.js';

/** Options of `createEmbeddingCache`. Defaults: {@link DEFAULTS}. */
export interface EmbeddingCacheOptions {
  /** The Redis (or Cluster) holding vectors. Any eviction policy is fine: an evicted entry is a miss. */
  redis: Redis | Cluster;
  /** How long a stored vector lives. @defaultValue 86_400 (a day) */
  ttlSeconds?: number;
  /** Keys are `<prefix>:emb:v1:...`. @defaultValue 'lota' */
  prefix?: string;
  /** In-process LRU in front of Redis, sized by entries; `false` turns it off. @defaultValue { maxEntries: 1_000 } */
  memory?: { maxEntries: number } | false;
  /**
   * Longest a Redis lookup may take before it counts as a miss; also how long write-back waiting
   * for budget may go without Redis acknowledging any write before it is dropped. @defaultValue 250
   */
  timeoutMs?: number;
  /** Most texts sent to the provider in one call; larger miss sets go in chunks. @defaultValue 256 */
  batchSize?: number;
  /** Provider calls run at once for one batch's chunks. @defaultValue 4 */
  maxParallelCalls?: number;
  /**
   * Write-back sent to Redis and not yet acknowledged, in bytes, at most. Past it, a call that
   * embedded new vectors waits (before it returns) until Redis has absorbed enough: back-pressure,
   * not drops, while Redis is healthy. One write larger than this is sent alone.
   * @defaultValue 16_777_216 (16 MiB: about 2 700 vectors of 1 536 dimensions)
   */
  maxPendingWriteBytes?: number;
  /** pino-compatible logger. @defaultValue warnings and errors to stderr */
  logger?: Logger;
}

/** {@link EmbeddingCacheOptions} without the client: what {@link resolveEmbeddingCacheOptions} validates. */
export type EmbeddingCacheSettings = Omit<EmbeddingCacheOptions, 'redis'>;

/**
 * Every default of {@link EmbeddingCacheOptions}: `createEmbeddingCache` and `@lota/runtime` read
 * them from here, never from a literal of their own.
 */
export const DEFAULTS = Object.freeze({
  /**
   * A day: re-embedding the same text within a day is what the cache is for, and a model
   * upgrade (a new key) leaves the old vectors to expire soon.
   * @defaultValue 86_400
   */
  ttlSeconds: 86_400,
  /**
   * The SDK's one namespace, the same as `@lota/redis-connection`'s `keyPrefix`.
   * @defaultValue 'lota'
   */
  prefix: 'lota',
  /**
   * About 6 MB of 1 536-dimension vectors: the hot texts of a process without a memory budget.
   * @defaultValue { maxEntries: 1_000 }
   */
  memory: Object.freeze({ maxEntries: 1_000 }),
  /**
   * A lookup is one round trip; past 250 ms a provider call is as fast as a sick Redis.
   * @defaultValue 250
   */
  timeoutMs: 250,
  /**
   * What the common embedding APIs accept in one request.
   * @defaultValue 256
   */
  batchSize: 256,
  /**
   * Enough to overlap network latency without tripping provider rate limits.
   * @defaultValue 4
   */
  maxParallelCalls: 4,
  /**
   * 16 MiB: about 2 700 vectors of 1 536 dimensions in flight, a bounded cost in process memory.
   * @defaultValue 16_777_216
   */
  maxPendingWriteBytes: 16 * 1024 * 1024,
});

/** {@link EmbeddingCacheSettings} validated, with every default applied. */
export interface ResolvedEmbeddingCacheOptions {
  readonly ttlSeconds: number;
  readonly prefix: string;
  readonly memory: Readonly<{ maxEntries: number }> | false;
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly maxParallelCalls: number;
  readonly maxPendingWriteBytes: number;
  readonly logger: Logger;
}

export type { OptionIssue, OptionsResult };

/** Option names of {@link EmbeddingCacheSettings} (the client is checked apart). */
const KNOWN: readonly string[] = ['ttlSeconds', 'prefix', 'memory', 'timeoutMs', 'batchSize', 'maxParallelCalls', 'maxPendingWriteBytes', 'logger'];
const wholeProblem = (v: unknown, min: number): string | undefined => {
  if (typeof v !== 'number') return `must be a number: a whole number >= ${min}, got ${v === null ? 'null' : typeof v}`;
  return Number.isInteger(v) && v >= min ? undefined : `must be a whole number >= ${min}, got ${String(v)}`;
};

/** Values made by {@link resolveEmbeddingCacheOptions}: `createEmbeddingCache` takes them as they are, without a second parse. */
const resolvedOptions = new ResolvedMarks<ResolvedEmbeddingCacheOptions>();

/**
 * Validates {@link EmbeddingCacheSettings} (everything but the client) and applies
 * {@link DEFAULTS}: the resolved options (frozen; hand them to `createEmbeddingCache(redis,
 * resolved)`), or every problem by dot path under `path`. Never throws for bad input.
 */
export function resolveEmbeddingCacheOptions(input: unknown, path = ''): OptionsResult<ResolvedEmbeddingCacheOptions> {
  const { options: o, issues, check } = collectOptions(input, path, KNOWN);
  const prefix = o.prefix ?? DEFAULTS.prefix;
  check('prefix', keyPrefixProblem(prefix));
  const whole = (key: 'ttlSeconds' | 'timeoutMs' | 'maxPendingWriteBytes' | 'batchSize' | 'maxParallelCalls', min = 1): number => {
    const v = o[key] ?? DEFAULTS[key];
    check(key, wholeProblem(v, min));
    return v as number;
  };
  const ttlSeconds = whole('ttlSeconds');
  const timeoutMs = whole('timeoutMs');
  const maxPendingWriteBytes = whole('maxPendingWriteBytes');
  const batchSize = whole('batchSize');
  const maxParallelCalls = whole('maxParallelCalls');
  const memory = o.memory ?? DEFAULTS.memory;
  if (memory !== false) {
    if (typeof memory !== 'object' || memory === null) check('memory', 'must be { maxEntries } or false');
    else check('memory.maxEntries', wholeProblem((memory as { maxEntries?: unknown }).maxEntries, 1));
  }
  const logger = o.logger ?? createStderrLogger('lota:embedding-cache');
  check('logger', isLogger(logger) ? undefined : NOT_A_LOGGER);
  if (issues.length > 0) return { ok: false, issues };
  const value: ResolvedEmbeddingCacheOptions = Object.freeze({
    ttlSeconds,
    prefix: prefix as string,
    memory: memory === false ? false : Object.freeze({ maxEntries: (memory as { maxEntries: number }).maxEntries }),
    timeoutMs,
    batchSize,
    maxParallelCalls,
    maxPendingWriteBytes,
    logger: logger as Logger,
  });
  return { ok: true, value: resolvedOptions.mark(value) };
}

const clientProblem = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && typeof (v as Partial<Redis>).mgetBuffer === 'function' && 'status' in v
    ? undefined
    : 'must be an ioredis Redis or Cluster instance';

function configError(issues: readonly OptionIssue[]): ConfigError {
  return new ConfigError('@lota/embedding-cache: createEmbeddingCache()', issues);
}

/** `createEmbeddingCache(redis, resolved)`: the client checked; `resolved` must come out of {@link resolveEmbeddingCacheOptions}. */
export function checkClient(redis: unknown, resolved: ResolvedEmbeddingCacheOptions): Redis | Cluster {
  const problem = clientProblem(redis);
  if (problem) throw configError([{ path: 'redis', message: problem }]);
  if (!resolvedOptions.has(resolved)) {
    throw configError([{ path: 'resolved', message: 'must be the value of resolveEmbeddingCacheOptions(); pass plain options as createEmbeddingCache({ redis, ...options })' }]);
  }
  return redis as Redis | Cluster;
}

/**
 * `createEmbeddingCache(options)`: the client checked and the rest resolved by
 * {@link resolveEmbeddingCacheOptions}; throws `CONFIG_INVALID` naming every bad option.
 */
export function validateCacheOptions(input: unknown): { redis: Redis | Cluster; resolved: ResolvedEmbeddingCacheOptions } {
  if (typeof input !== 'object' || input === null) throw configError([{ path: '', message: 'must be an options object with redis' }]);
  const { redis, ...settings } = input as Record<string, unknown>;
  const problem = clientProblem(redis);
  const result = resolveEmbeddingCacheOptions(settings);
  const issues = [...(problem ? [{ path: 'redis', message: problem }] : []), ...(result.ok ? [] : result.issues)];
  if (issues.length > 0 || !result.ok) throw configError(issues);
  return { redis: redis as Redis | Cluster, resolved: result.value };
}
