import { describe, expect, it } from 'vitest';
import { createLotaRuntime, RuntimeConfigError, type Processor } from '../src/index.js';

const processor: Processor = async () => undefined;

describe('config', () => {
  it("the seed's samples are valid as written", async () => {
    await expect(createLotaRuntime({ redis: { url: 'redis://localhost:6379' } })).resolves.toBeDefined();
    await expect(
      createLotaRuntime({ redis: { url: 'redis://localhost:6379' }, extraWorkers: [{ queue: 'custom-queue', concurrency: 5, processor }] }),
    ).resolves.toBeDefined();
    await expect(createLotaRuntime({ redis: { url: 'redis://localhost:6379' }, aiGateway: { embeddingCacheTtlSeconds: 86400 } })).resolves.toBeDefined();
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['unknown top-level key', { redis: {}, worker: {} }, 'worker', /unknown option/],
    ['unknown redis key', { redis: { hots: 'x' } }, 'redis.hots', /unknown option/],
    ['bad redis url', { redis: { url: 'http://x' } }, 'redis.url', /redis:\/\/ or rediss:\/\//],
    ['unknown built-in queue worker', { redis: {}, workers: { 'memory-extractoin': { processor } } }, 'workers.memory-extractoin', /unknown option/],
    ['processor not a function', { redis: {}, workers: { 'memory-digest': { processor: 'fn' } } }, 'workers.memory-digest.processor', /must be a function/],
    ['extra worker concurrency', { redis: {}, extraWorkers: [{ queue: 'q', concurrency: 0, processor }] }, 'extraWorkers.0.concurrency', />= 1/],
    ['ttl type', { redis: {}, aiGateway: { embeddingCacheTtlSeconds: '1d' } }, 'aiGateway.embeddingCacheTtlSeconds', /must be a number/],
    ['provider shape', { redis: {}, aiGateway: { embeddingProvider: { embed() {} } } }, 'aiGateway.embeddingProvider', /model, embed/],
    ['cache redis url', { redis: {}, aiGateway: { embeddingCacheRedis: { url: 'nope' } } }, 'aiGateway.embeddingCacheRedis.url', /redis:\/\//],
    ['policy key', { redis: {}, queues: { policies: { 'memory-digest': { debounce: 5 } } } }, 'queues.policies.memory-digest.debounce', /unknown option/],
    ['lock ttl', { redis: {}, memoryLock: { ttlMs: 0 } }, 'memoryLock.ttlMs', />= 10/],
    ['adapter shape', { redis: {}, memoryLock: { adapter: {} } }, 'memoryLock.adapter', /withLock/],
  ];
  for (const [what, input, path, message] of bad) {
    it(`rejects ${what}, naming ${path}`, async () => {
      const err = (await createLotaRuntime(input as never).catch((e: unknown) => e)) as RuntimeConfigError;
      expect(err).toBeInstanceOf(RuntimeConfigError);
      expect(err.code).toBe('CONFIG_INVALID');
      const issue = err.issues.find((i) => i.path === path);
      expect(issue, err.message).toBeDefined();
      expect(issue!.message).toMatch(message);
    });
  }

  it('reports every problem at once and never a password', async () => {
    const err = (await createLotaRuntime({ redis: { url: 'http://u:hunter2@h' }, bogus: 1, memoryLock: { ttlMs: -1 } } as never).catch((e: unknown) => e)) as RuntimeConfigError;
    expect(err.issues.map((i) => i.path).sort()).toEqual(['bogus', 'memoryLock.ttlMs', 'redis.url']);
    expect(err.message).not.toContain('hunter2');
  });
});
