import type { EmbeddingProvider } from '@lota/embedding-cache';
import type { LockAdapter } from '@lota/org-lock';
import { BUILT_IN_QUEUES } from '@lota/queues';
import type { Logger } from '@lota/redis-connection';
import { isLogger, NOT_A_LOGGER } from '@lota/shared';
import { z } from 'zod';

const obj = <T>(what: string, keys: string[]) =>
  z.custom<T>((v) => typeof v === 'object' && v !== null && keys.every((k) => k in v), `must be ${what}`);
/** A key whose value the owning package's resolver checks: here only its place in the config. */
const owned = z.unknown().optional();

/** A worker's values are checked by @lota/queues' `resolveWorkerOptions` (see workers.ts). */
const workerSchema = z.strictObject({ processor: owned, concurrency: owned, workerOptions: owned });
const required = (what: string) => z.custom((v) => v !== undefined, `must be given (${what})`);

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
    .array(z.strictObject({ queue: owned, concurrency: required('jobs this worker runs at once'), processor: owned, workerOptions: owned }))
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
