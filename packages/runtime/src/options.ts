import { resolveEmbeddingCacheOptions, type EmbeddingProvider, type ResolvedEmbeddingCacheOptions } from '@lota/embedding-cache';
import { resolveLockOptions, type LockAdapter, type ResolvedLockOptions } from '@lota/org-lock';
import type { ResolvedQueuesOptions } from '@lota/queues';
import { resolveRedisOptions, type ResolvedRedisConfig } from '@lota/redis-connection';
import { isLogger, isOptionsObject, joinPath as join, zodIssues, type OptionIssue, type OptionsResult } from '@lota/shared';
import { resolveQueuesSection } from './queues-section.js';
import { schema } from './schema.js';
import { given, renamed, withDefaults } from './section-input.js';
import { duplicateWorkers, resolveWorkers, type ResolvedWorker } from './workers.js';

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

/**
 * Validates the whole config and resolves every section with its owner's resolver, under the
 * runtime's own dot paths (prefixed with `path`): `redis` and `aiGateway.embeddingCacheRedis` by
 * @lota/redis-connection, `queues` by @lota/queues, `memoryLock` by @lota/org-lock,
 * `aiGateway.embeddingCacheTtlSeconds` by @lota/embedding-cache. Returns every problem at once.
 */
export function resolveRuntimeOptions(input: unknown, path = ''): OptionsResult<ResolvedRuntimeOptions> {
  const parsed = schema.safeParse(input);
  const issues: OptionIssue[] = parsed.success ? [] : zodIssues(parsed.error, path);
  const raw = isOptionsObject(input) ? input : {};
  issues.push(...duplicateWorkers(raw, path));
  const workers = resolveWorkers(raw, path);
  issues.push(...workers.issues);
  // Values the runtime hands to every part, when they are valid (a bad one is reported once, here).
  const logger = isLogger(raw.logger) ? raw.logger : undefined;
  const gateway = isOptionsObject(raw.aiGateway) ? raw.aiGateway : {};
  const lockSection = isOptionsObject(raw.memoryLock) ? raw.memoryLock : {};
  const extra = (Array.isArray(raw.extraWorkers) ? (raw.extraWorkers as unknown[]) : []).flatMap((w) =>
    isOptionsObject(w) && typeof w.queue === 'string' ? [{ queue: w.queue }] : [],
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
  // A host queue's bad name is reported by the queues (as a declared policy) and by its worker: once is enough.
  const unique = [...new Map(issues.map((i) => [`${i.path}\n${i.message}`, i])).values()];

  if (issues.length > 0 || !parsed.success || !redis.ok || (cacheRedis && !cacheRedis.ok) || !queues.ok || !lock.ok || !cache.ok) {
    return { ok: false, issues: unique };
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
      workers: Object.freeze(workers.workers),
    }),
  };
}
