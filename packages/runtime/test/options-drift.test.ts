/**
 * Drift between the runtime and its parts: every value a package refuses must be refused by
 * `createLotaRuntime()` itself (not at `connect()`), at the runtime's own dot path, with the
 * package's own message. Each row is checked against the package's factory, the package's
 * resolver and the runtime. No Redis is needed: nothing connects (clients are lazy).
 */
import { createEmbeddingCache, resolveEmbeddingCacheOptions } from '@lota/embedding-cache';
import { createRedisLock, resolveLockOptions } from '@lota/org-lock';
import { createQueues, resolveQueuesOptions, resolveWorkerOptions } from '@lota/queues';
import { createRedisConnectionManager, resolveRedisOptions } from '@lota/redis-connection';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLotaRuntime, ConfigError, type LotaRuntimeConfig } from '../src/index.js';

// Lazy clients: never connected, only shown to the factories.
const general = new Redis({ lazyConnect: true });
const bullmq = new Redis({ lazyConnect: true, maxRetriesPerRequest: null });
afterAll(() => {
  general.disconnect();
  bullmq.disconnect();
});

type Issue = { path: string; message: string };
type Result = { ok: true } | { ok: false; issues: Issue[] };

interface Row {
  what: string;
  /** The package's options (without the client). */
  options: Record<string, unknown>;
  /** Where the package reports it. */
  packagePath: string;
  /** The same mistake in a runtime config. */
  runtime: Record<string, unknown>;
  /** Where the runtime reports it. */
  runtimePath: string;
  /** The runtime repeats the package's message word for word (false: it names the runtime's key instead). */
  sameMessage?: boolean;
}

interface Package {
  name: string;
  /** The code the factory throws. @defaultValue 'CONFIG_INVALID' */
  code?: string;
  factory: (options: Record<string, unknown>) => unknown;
  resolve: (options: Record<string, unknown>) => Result;
  rows: Row[];
}

const bad = (x: unknown): never => x as never;
const noop = async (): Promise<void> => undefined;

const PACKAGES: Package[] = [
  {
    name: '@lota/redis-connection',
    factory: (o) => createRedisConnectionManager(bad(o)),
    resolve: (o) => resolveRedisOptions(o),
    rows: [
      { what: 'a bad redis url', options: { url: 'http://x' }, packagePath: 'url', runtime: { redis: { url: 'http://x' } }, runtimePath: 'redis.url' },
      {
        what: 'a bad cache redis url',
        options: { url: 'nope' },
        packagePath: 'url',
        runtime: { redis: {}, aiGateway: { embeddingCacheRedis: { url: 'nope' } } },
        runtimePath: 'aiGateway.embeddingCacheRedis.url',
      },
      { what: 'keyPrefix with a space', options: { keyPrefix: 'a b' }, packagePath: 'keyPrefix', runtime: { redis: { keyPrefix: 'a b' } }, runtimePath: 'redis.keyPrefix' },
      {
        what: 'a health check timeout longer than its interval',
        options: { healthCheckTimeoutMs: 40_000 },
        packagePath: 'healthCheckTimeoutMs',
        runtime: { redis: { healthCheckTimeoutMs: 40_000 } },
        runtimePath: 'redis.healthCheckTimeoutMs',
      },
      { what: 'a fractional db', options: { db: 1.5 }, packagePath: 'db', runtime: { redis: { db: 1.5 } }, runtimePath: 'redis.db' },
      { what: 'connectTimeoutMs 0', options: { connectTimeoutMs: 0 }, packagePath: 'connectTimeoutMs', runtime: { redis: { connectTimeoutMs: 0 } }, runtimePath: 'redis.connectTimeoutMs' },
      {
        what: 'a logger without functions',
        options: { logger: { debug: 1, info: 1, warn: 1, error: 1 } },
        packagePath: 'logger',
        runtime: { redis: {}, logger: { debug: 1, info: 1, warn: 1, error: 1 } },
        runtimePath: 'logger',
        sameMessage: false,
      },
    ],
  },
  {
    name: '@lota/queues',
    factory: (o) => createQueues(bad({ connection: bullmq, ...o })),
    resolve: (o) => resolveQueuesOptions(o),
    rows: [
      {
        what: 'maxRetries 500',
        options: { policies: { 'memory-extraction': { maxRetries: 500 } } },
        packagePath: 'policies.memory-extraction.maxRetries',
        runtime: { redis: {}, queues: { policies: { 'memory-extraction': { maxRetries: 500 } } } },
        runtimePath: 'queues.policies.memory-extraction.maxRetries',
      },
      {
        what: 'concurrency 50_000',
        options: { policies: { 'memory-digest': { concurrency: 50_000 } } },
        packagePath: 'policies.memory-digest.concurrency',
        runtime: { redis: {}, queues: { policies: { 'memory-digest': { concurrency: 50_000 } } } },
        runtimePath: 'queues.policies.memory-digest.concurrency',
      },
      {
        what: 'a maximum wait shorter than the debounce window',
        options: { policies: { 'memory-digest': { debounceMs: 500, maxWaitMs: 100 } } },
        packagePath: 'policies.memory-digest.maxWaitMs',
        runtime: { redis: {}, queues: { policies: { 'memory-digest': { debounceMs: 500, maxWaitMs: 100 } } } },
        runtimePath: 'queues.policies.memory-digest.maxWaitMs',
      },
      { what: "prefix 'a b'", options: { prefix: 'a b' }, packagePath: 'prefix', runtime: { redis: {}, queues: { prefix: 'a b' } }, runtimePath: 'queues.prefix' },
      {
        what: 'maxStalledCount 5_000',
        options: { policies: { q: { maxStalledCount: 5_000 } } },
        packagePath: 'policies.q.maxStalledCount',
        runtime: { redis: {}, queues: { policies: { q: { maxStalledCount: 5_000 } } } },
        runtimePath: 'queues.policies.q.maxStalledCount',
      },
      { what: 'enqueueTimeoutMs 0', options: { enqueueTimeoutMs: 0 }, packagePath: 'enqueueTimeoutMs', runtime: { redis: {}, queues: { enqueueTimeoutMs: 0 } }, runtimePath: 'queues.enqueueTimeoutMs' },
      {
        what: "a policy for queue 'bad:name'",
        options: { policies: { 'bad:name': {} } },
        packagePath: 'policies.bad:name',
        runtime: { redis: {}, queues: { policies: { 'bad:name': {} } } },
        runtimePath: 'queues.policies.bad:name',
      },
      {
        what: "an extra worker for queue 'a b' (declared as a host queue)",
        options: { policies: { 'a b': {} } },
        packagePath: 'policies.a b',
        runtime: { redis: {}, extraWorkers: [{ queue: 'a b', concurrency: 1, processor: async () => undefined }] },
        runtimePath: 'extraWorkers.0.queue',
      },
      {
        what: 'a replica wait as long as the enqueue bound',
        options: { policies: { q: { waitForReplicas: 1, waitForReplicasTimeoutMs: 6_000 } } },
        packagePath: 'policies.q.waitForReplicasTimeoutMs',
        runtime: { redis: {}, queues: { policies: { q: { waitForReplicas: 1, waitForReplicasTimeoutMs: 6_000 } } } },
        runtimePath: 'queues.policies.q.waitForReplicasTimeoutMs',
        sameMessage: false, // it names queues.enqueueTimeoutMs, the runtime's key
      },
    ],
  },
  {
    name: '@lota/queues registerWorker',
    code: 'INVALID_ARGUMENT',
    factory: (o) => createQueues({ connection: bullmq }).registerWorker(bad({ processor: noop, ...o })),
    resolve: (o) => resolveWorkerOptions({ processor: noop, ...o }),
    rows: [
      {
        what: 'a built-in worker at concurrency 50_000',
        options: { queue: 'memory-digest', concurrency: 50_000 },
        packagePath: 'concurrency',
        runtime: { redis: {}, workers: { 'memory-digest': { processor: noop, concurrency: 50_000 } } },
        runtimePath: 'workers.memory-digest.concurrency',
      },
      {
        what: 'a host worker at concurrency 0',
        options: { queue: 'memory-digest', concurrency: 0 },
        packagePath: 'concurrency',
        runtime: { redis: {}, extraWorkers: [{ queue: 'host', concurrency: 0, processor: noop }] },
        runtimePath: 'extraWorkers.0.concurrency',
      },
      {
        what: 'a processor that is not a function',
        options: { queue: 'memory-extraction', processor: 'run' },
        packagePath: 'processor',
        runtime: { redis: {}, workers: { 'memory-extraction': { processor: 'run' } } },
        runtimePath: 'workers.memory-extraction.processor',
      },
    ],
  },
  {
    name: '@lota/org-lock',
    factory: (o) => createRedisLock(bad({ clients: general, ...o })),
    resolve: (o) => resolveLockOptions(o),
    rows: [
      { what: 'a too-small lock ttlMs (5)', options: { ttlMs: 5 }, packagePath: 'ttlMs', runtime: { redis: {}, memoryLock: { ttlMs: 5 } }, runtimePath: 'memoryLock.ttlMs' },
      { what: 'a lock ttlMs over 2^31-1', options: { ttlMs: 2 ** 31 }, packagePath: 'ttlMs', runtime: { redis: {}, memoryLock: { ttlMs: 2 ** 31 } }, runtimePath: 'memoryLock.ttlMs' },
      { what: 'a fractional lock ttlMs', options: { ttlMs: 1_000.5 }, packagePath: 'ttlMs', runtime: { redis: {}, memoryLock: { ttlMs: 1_000.5 } }, runtimePath: 'memoryLock.ttlMs' },
      {
        what: 'acquireTimeoutMs -1',
        options: { acquireTimeoutMs: -1 },
        packagePath: 'acquireTimeoutMs',
        runtime: { redis: {}, memoryLock: { acquireTimeoutMs: -1 } },
        runtimePath: 'memoryLock.acquireTimeoutMs',
      },
      {
        what: 'acquireTimeoutMs over 2^31-1',
        options: { acquireTimeoutMs: 2 ** 31 },
        packagePath: 'acquireTimeoutMs',
        runtime: { redis: {}, memoryLock: { acquireTimeoutMs: 2 ** 31 } },
        runtimePath: 'memoryLock.acquireTimeoutMs',
      },
    ],
  },
  {
    name: '@lota/embedding-cache',
    factory: (o) => createEmbeddingCache(bad({ redis: general, ...o })),
    resolve: (o) => resolveEmbeddingCacheOptions(o),
    rows: [
      { what: 'cache ttlSeconds 0', options: { ttlSeconds: 0 }, packagePath: 'ttlSeconds', runtime: { redis: {}, aiGateway: { embeddingCacheTtlSeconds: 0 } }, runtimePath: 'aiGateway.embeddingCacheTtlSeconds' },
      { what: 'cache ttlSeconds 1.5', options: { ttlSeconds: 1.5 }, packagePath: 'ttlSeconds', runtime: { redis: {}, aiGateway: { embeddingCacheTtlSeconds: 1.5 } }, runtimePath: 'aiGateway.embeddingCacheTtlSeconds' },
      { what: "cache ttlSeconds '1d'", options: { ttlSeconds: '1d' }, packagePath: 'ttlSeconds', runtime: { redis: {}, aiGateway: { embeddingCacheTtlSeconds: '1d' } }, runtimePath: 'aiGateway.embeddingCacheTtlSeconds' },
    ],
  },
];

async function runtimeIssues(config: Record<string, unknown>): Promise<readonly Issue[]> {
  const err = await createLotaRuntime(config as unknown as LotaRuntimeConfig).then(
    (r) => {
      void r.disconnect({ timeoutMs: 100 });
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err, `createLotaRuntime(${JSON.stringify(config)}) should be refused`).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).code).toBe('CONFIG_INVALID');
  return (err as ConfigError).issues;
}

for (const pkg of PACKAGES) {
  describe(`${pkg.name}: what the package refuses, createLotaRuntime() refuses at creation`, () => {
    for (const row of pkg.rows) {
      it(`${row.what}: ${row.packagePath} -> ${row.runtimePath}`, async () => {
        // The package's factory refuses it, naming its option.
        let thrown: unknown;
        try {
          pkg.factory(row.options);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, `${pkg.name} factory should refuse ${JSON.stringify(row.options)}`).toBeInstanceOf(Error);
        expect((thrown as { code?: string }).code).toBe(pkg.code ?? 'CONFIG_INVALID');
        expect((thrown as Error).message).toContain(row.packagePath);
        // Its resolver reports it at the package's path.
        const resolved = pkg.resolve(row.options);
        expect(resolved.ok).toBe(false);
        const own = (resolved as { issues: Issue[] }).issues.find((i) => i.path === row.packagePath);
        expect(own, JSON.stringify(resolved)).toBeDefined();
        // The runtime refuses it at creation, at its own path, with the package's message.
        const issues = await runtimeIssues(row.runtime);
        const issue = issues.find((i) => i.path === row.runtimePath);
        expect(issue, JSON.stringify(issues)).toBeDefined();
        if (row.sameMessage !== false) expect(issue!.message).toBe(own!.message);
        // Reported once, at the runtime's path only.
        expect(issues.filter((i) => i.message === issue!.message).map((i) => i.path)).toEqual([row.runtimePath]);
      });
    }
  });
}

describe('the runtime accepts what the packages accept', () => {
  it('values at the packages’ bounds pass both the factories and createLotaRuntime()', async () => {
    createQueues({ connection: bullmq, prefix: 'a-b', policies: { 'memory-extraction': { maxRetries: 100, concurrency: 10_000 }, host: {} } });
    const lock = createRedisLock({ clients: general, ttlMs: 10, acquireTimeoutMs: 0 });
    await lock.close({ timeoutMs: 100 });
    createEmbeddingCache({ redis: general, ttlSeconds: 1 });
    const runtime = await createLotaRuntime({
      redis: { keyPrefix: 'a-b' },
      queues: { prefix: 'a-b', policies: { 'memory-extraction': { maxRetries: 100, concurrency: 10_000 } } },
      extraWorkers: [{ queue: 'host', concurrency: 1, processor: async () => undefined }],
      memoryLock: { ttlMs: 10, acquireTimeoutMs: 0 },
      aiGateway: { embeddingCacheTtlSeconds: 1 },
    });
    await runtime.disconnect({ timeoutMs: 100 });
  });

  it('every problem of the whole config in one CONFIG_INVALID, each at the runtime’s path', async () => {
    const issues = await runtimeIssues({
      redis: { url: 'http://x' },
      queues: { prefix: 'a b', policies: { 'memory-extraction': { maxRetries: 500, concurrency: 50_000 } } },
      memoryLock: { ttlMs: 5 },
      aiGateway: { embeddingCacheTtlSeconds: 0, embeddingCacheRedis: { keyPrefix: '{x}' } },
      extraWorkers: [{ queue: 'a b', concurrency: 1, processor: async () => undefined }],
    });
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'redis.url',
        'queues.prefix',
        'queues.policies.memory-extraction.maxRetries',
        'queues.policies.memory-extraction.concurrency',
        'memoryLock.ttlMs',
        'aiGateway.embeddingCacheTtlSeconds',
        'aiGateway.embeddingCacheRedis.keyPrefix',
        'extraWorkers.0.queue',
      ].sort(),
    );
  });
});

describe('resolved values are handed on, not parsed again', () => {
  it('each factory takes its resolver’s value as it is, and refuses a look-alike', () => {
    const queues = resolveQueuesOptions({ prefix: 'p' });
    const lock = resolveLockOptions({ ttlMs: 900 });
    const cache = resolveEmbeddingCacheOptions({ ttlSeconds: 60 });
    const redis = resolveRedisOptions({ keyPrefix: 'p' });
    if (!queues.ok || !lock.ok || !cache.ok || !redis.ok) return expect.fail('valid options were refused');
    expect(createQueues(bullmq, queues.value).queueNames).toContain('memory-digest');
    expect(createRedisConnectionManager(redis.value).keyPrefix).toBe('p');
    void createRedisLock(general, lock.value).close({ timeoutMs: 100 });
    createEmbeddingCache(general, cache.value);
    // A copy is not a resolver's value: it could hold anything.
    expect(() => createQueues(bullmq, { ...queues.value })).toThrow(/resolveQueuesOptions/);
    expect(() => createRedisLock(general, { ...lock.value, ttlMs: 1 })).toThrow(/resolveLockOptions/);
    expect(() => createEmbeddingCache(general, { ...cache.value })).toThrow(/resolveEmbeddingCacheOptions/);
    expect(() => createRedisConnectionManager(bad({ ...redis.value }))).toThrow(/unknown option/);
  });
});
