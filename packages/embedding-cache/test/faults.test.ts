import { startCluster, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createEmbeddingCache } from '../src/index.js';
import { f32, fakeProvider, perTestCache, vectorFor } from './helpers.js';

const caps = await testkitCapabilities();
const { setup, defer } = perTestCache();

const TIMEOUT = 150;
const LATENCY = 40;

describe.skipIf(!caps.control)('fail-open', () => {
  it('Redis SIGKILLed, then paused: every embedMany returns correct vectors within timeoutMs + provider latency; hits resume after', async () => {
    const { server, redis, cache, logger } = await setup({ timeoutMs: TIMEOUT });
    const provider = fakeProvider({ latencyMs: LATENCY });
    const texts = ['alpha', 'beta', 'gamma'];
    const expected = texts.map((t) => f32(vectorFor(t, 8, provider.model)));
    expect(await cache.embedMany(provider, texts)).toEqual(expected);
    await waitFor(async () => (await redis.dbsize()) === 3);

    const timed = async (): Promise<number> => {
      const t0 = performance.now();
      expect(await cache.embedMany(provider, texts)).toEqual(expected);
      return performance.now() - t0;
    };

    await server.kill();
    await waitFor(() => redis.status !== 'ready');
    for (let i = 0; i < 3; i++) expect(await timed()).toBeLessThan(TIMEOUT + LATENCY + 100);

    await server.restart(); // no persistence: the cache is empty again
    await waitFor(() => redis.status === 'ready', { timeoutMs: 10_000 });
    await server.pause();
    for (let i = 0; i < 3; i++) expect(await timed()).toBeLessThan(TIMEOUT + LATENCY + 100);
    expect(logger.lines.some((l) => /fail-open/.test(l.message))).toBe(true);
    await server.resume();

    // Back: the first batch refills (writes that queued during the pause land too), then hits.
    await waitFor(async () => {
      const calls = provider.calls.length;
      await cache.embedMany(provider, texts);
      return provider.calls.length === calls;
    }, { timeoutMs: 10_000, description: 'hits to resume' });
    expect(cache.stats().errors).toBeGreaterThan(0);
  });

  it('a tiny maxmemory with an LRU policy: evicted entries fall back to the provider', async () => {
    const { redis, cache } = await setup({}, { maxmemory: '2mb', maxmemoryPolicy: 'allkeys-lru' });
    const provider = fakeProvider({ dims: 1536 });
    const texts = Array.from({ length: 600 }, (_, i) => `doc ${i}`); // ~3.7 MB of vectors: cannot all fit
    const first = await cache.embedMany(provider, texts);
    await waitFor(async () => Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0) > 0, { description: 'evictions' });
    const kept = await redis.dbsize();
    expect(kept).toBeLessThan(600);
    provider.calls.length = 0;
    const second = await cache.embedMany(provider, texts);
    expect(second).toEqual(first);
    const reembedded = provider.calls.flat().length;
    expect(reembedded).toBeGreaterThanOrEqual(600 - kept);
    expect(reembedded).toBeLessThan(600);
  });
});

describe.skipIf(!caps.topologies)('Redis Cluster', () => {
  it('a batch whose keys span every master: one lookup per hash tag, all hits the second time', async () => {
    const cluster = await startCluster({ masters: 3 });
    defer(() => cluster.dispose());
    const redis = new Cluster(cluster.startupNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })), {
      redisOptions: { maxRetriesPerRequest: 1 },
    });
    defer(() => redis.disconnect());
    await waitFor(() => redis.status === 'ready');
    const cache = createEmbeddingCache({ redis, memory: false, logger: recordingLogger() });
    const provider = fakeProvider();
    const texts = Array.from({ length: 400 }, (_, i) => `chunk ${i}`);
    const first = await cache.embedMany(provider, texts);
    await waitFor(async () => (await Promise.all(redis.nodes('master').map((n) => n.dbsize()))).reduce((a, b) => a + b, 0) === 400, {
      description: 'all writes',
    });
    const perMaster = await Promise.all(redis.nodes('master').map((n) => n.dbsize()));
    expect(perMaster.every((n) => n > 50)).toBe(true);
    const tags = new Set(texts.map((t) => /\{(..)\}/.exec(cache.keyFor(provider.model, t))?.[1]));
    expect(tags.size).toBeGreaterThan(150);
    const calls = provider.calls.length; // 400 misses in chunks of 256
    expect(calls).toBe(2);
    expect(await cache.embedMany(provider, texts)).toEqual(first);
    expect(provider.calls).toHaveLength(calls);
    expect(cache.stats()).toMatchObject({ hits: 400, misses: 400, errors: 0 });
  });
});
