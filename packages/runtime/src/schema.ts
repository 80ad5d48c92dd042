import type { EmbeddingProvider } from '@lota/embedding-cache';
import type { LockAdapter } from '@lota/org-lock';
import { BUILT_IN_QUEUES, type JobPayload, type Processor } from '@lota/queues';
import type { Logger } from '@lota/redis-connection';
import { isLogger, NOT_A_LOGGER } from '@lota/shared';
import { z } from 'zod';

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
export const schema = z.strictObject({
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

/** A config that passed {@link schema}. */
export type ParsedRuntimeConfig = z.infer<typeof schema>;
