import { waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createEmbeddingCache,
  InvalidArgumentError,
  ProviderInvalidError,
  type EmbeddingCacheOptions,
  type EmbeddingProvider,
} from '../src/index.js';
import { decodeVector, encodeVector } from '../src/internal.js';
import { f32, fakeProvider, fileRedis, vectorFor } from './helpers.js';

const file = fileRedis({ flush: true });
const cache = (opts: Partial<EmbeddingCacheOptions> = {}) => createEmbeddingCache({ redis: file.redis, logger: recordingLogger(), memory: false, ...opts });

describe('embedMany', () => {
  it('mixed batch [b, a(cached), c, b]: one provider call with [b, c], results in order', async () => {
    const c = cache();
    const provider = fakeProvider();
    await c.embed(provider, 'a');
    await waitFor(async () => (await file.redis.exists(c.keyFor(provider.model, 'a'))) === 1, { description: 'the write-back' });
    provider.calls.length = 0;
    const out = await c.embedMany(provider, ['b', 'a', 'c', 'b']);
    expect(provider.calls).toEqual([['b', 'c']]);
    expect(out).toEqual([f32(vectorFor('b', 8, 'test-embed-1')), f32(vectorFor('a', 8, 'test-embed-1')), f32(vectorFor('c', 8, 'test-embed-1')), f32(vectorFor('b', 8, 'test-embed-1'))]);
    expect(out[0]).not.toBe(out[3]); // callers may mutate their copy
    expect(c.stats()).toMatchObject({ hits: 1, misses: 3, providerCalls: 2, coalesced: 1 });
  });

  it('a second identical batch is served entirely from Redis in one round trip', async () => {
    const c = cache();
    const provider = fakeProvider();
    const texts = Array.from({ length: 50 }, (_, i) => `text ${i}`);
    const first = await c.embedMany(provider, texts);
    const keys = texts.map((t) => c.keyFor(provider.model, t));
    await waitFor(async () => (await file.redis.exists(...keys)) === 50, { description: 'the fire-and-forget writes' });
    const before = Number(/cmdstat_mget:calls=(\d+)/.exec(await file.redis.info('commandstats'))?.[1] ?? 0);
    const second = await c.embedMany(provider, texts);
    const after = Number(/cmdstat_mget:calls=(\d+)/.exec(await file.redis.info('commandstats'))?.[1] ?? 0);
    expect(second).toEqual(first);
    expect(provider.calls).toHaveLength(1);
    expect(after - before).toBe(1);
  });

  it('misses above batchSize go in chunks, each written back as it completes', async () => {
    const c = cache({ batchSize: 10, maxParallelCalls: 1 });
    const provider = fakeProvider();
    const texts = Array.from({ length: 25 }, (_, i) => `t${i}`);
    await c.embedMany(provider, texts);
    expect(provider.calls.map((x) => x.length)).toEqual([10, 10, 5]);
    await new Promise((r) => setTimeout(r, 20));
    expect(await file.redis.exists(...texts.map((t) => c.keyFor(provider.model, t)))).toBe(25);
  });

  it('concurrent requests for the same uncached text share one provider call', async () => {
    const c = cache();
    const provider = fakeProvider({ latencyMs: 30 });
    const results = await Promise.all(Array.from({ length: 10 }, () => c.embed(provider, 'same text')));
    expect(provider.calls).toEqual([['same text']]);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(c.stats().coalesced).toBe(9);
  });

  it('stores float32 with a header under a TTL; the in-process LRU serves repeats without Redis', async () => {
    const c = cache({ ttlSeconds: 120, memory: { maxEntries: 10 } });
    const provider = fakeProvider({ dims: 16 });
    await c.embed(provider, 'hello');
    await new Promise((r) => setTimeout(r, 20));
    const key = c.keyFor(provider.model, 'hello');
    const raw = await file.redis.getBuffer(key);
    expect(raw?.length).toBe(8 + 16 * 4);
    expect(Array.from(decodeVector(raw!)!)).toEqual(f32(vectorFor('hello', 16, 'test-embed-1')));
    const pttl = await file.redis.pttl(key);
    expect(pttl).toBeGreaterThan(119_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
    await c.embed(provider, 'hello');
    expect(c.stats()).toMatchObject({ memoryHits: 1, hits: 1 });
  });

  it('a model change, a dimensions change or an options change is a miss', async () => {
    const c = cache();
    const a = fakeProvider({ model: 'model-a' });
    await c.embed(a, 'x');
    const b = fakeProvider({ model: 'model-b' });
    const vb = await c.embed(b, 'x');
    expect(b.calls).toEqual([['x']]);
    expect(vb).toEqual(f32(vectorFor('x', 8, 'model-b')));
    const withOptions: EmbeddingProvider = { ...fakeProvider({ model: 'model-a' }), options: { taskType: 'query' } };
    expect(c.keyFor('model-a', 'x', { options: { taskType: 'query' } })).not.toBe(c.keyFor('model-a', 'x'));
    expect(c.keyFor('model-a', 'x', { dimensions: 256 })).not.toBe(c.keyFor('model-a', 'x'));
    expect(c.keyFor('a:b', 'c')).not.toBe(c.keyFor('a', 'b:c'));
    expect(c.keyFor('model-a', 'x', { options: { b: 1, a: 2 } })).toBe(c.keyFor('model-a', 'x', { options: { a: 2, b: 1 } }));
    await c.embed(withOptions, 'x');
  });

  it('a corrupt entry is a miss, re-embedded and overwritten (self-heals)', async () => {
    const c = cache();
    const provider = fakeProvider({ dims: 8 });
    const key = c.keyFor(provider.model, 'doc');
    await c.embed(provider, 'warm-up'); // the cache now knows this model's vectors have 8 dims
    for (const garbage of [Buffer.from('not a vector'), encodeVector([1, 2, 3]) /* well-formed, wrong dims */, Buffer.from(JSON.stringify([0.1, 0.2]))]) {
      await file.redis.set(key, garbage);
      provider.calls.length = 0;
      const v = await c.embed(provider, 'doc');
      expect(provider.calls).toEqual([['doc']]);
      expect(v).toEqual(f32(vectorFor('doc', 8, 'test-embed-1')));
      await new Promise((r) => setTimeout(r, 20));
      expect(decodeVector((await file.redis.getBuffer(key))!)?.length).toBe(8);
    }
    // A header that lies about its length is refused too.
    const lying = encodeVector(vectorFor('doc', 8));
    lying.writeUInt32LE(9, 4);
    expect(decodeVector(lying)).toBeUndefined();
    const nan = encodeVector([1, Number.NaN]);
    expect(decodeVector(nan)).toBeUndefined();
  });

  it('a stored vector with other dimensions than the provider declares is a miss', async () => {
    const c = cache();
    const p4 = fakeProvider({ dims: 4, dimensionsOption: true });
    await file.redis.set(c.keyFor(p4.model, 'q', { dimensions: 4 }), encodeVector([1, 2, 3, 4, 5]));
    await c.embed(p4, 'q');
    expect(p4.calls).toEqual([['q']]);
  });

  it('one model at two output sizes (provider dimensions or options): both stay cached, no errors counted', async () => {
    const c = cache();
    const byDefault = fakeProvider({ model: 'one-model', dims: 8 });
    const declared = fakeProvider({ model: 'one-model', dims: 4, dimensionsOption: true });
    const small: EmbeddingProvider = { ...fakeProvider({ model: 'one-model', dims: 2 }), options: { outputDimensionality: 2 } };
    const large: EmbeddingProvider = { ...fakeProvider({ model: 'one-model', dims: 16 }), options: { outputDimensionality: 16 } };
    const all = [byDefault, declared, small, large];
    const embedAll = async (): Promise<number[][]> => Promise.all(all.map((p) => c.embed(p, 'same text')));
    const first = await embedAll();
    expect(first.map((v) => v.length)).toEqual([8, 4, 2, 16]);
    const keys = all.map((p) => c.keyFor(p.model, 'same text', { ...(p.dimensions ? { dimensions: p.dimensions } : {}), ...(p.options ? { options: p.options } : {}) }));
    expect(new Set(keys).size).toBe(4);
    await waitFor(async () => (await file.redis.exists(...keys)) === 4, { description: 'the four write-backs' });
    const callsBefore = c.stats().providerCalls;
    for (let round = 0; round < 2; round++) expect(await embedAll()).toEqual(first);
    expect(c.stats()).toMatchObject({ providerCalls: callsBefore, errors: 0, hits: 8 });
  });

  it('a value finite in float64 but not in float32 (1e39) is PROVIDER_INVALID, never Infinity, nothing cached', async () => {
    const c = cache();
    for (const huge of [1e39, -1e39, 3.5e38]) {
      const provider: EmbeddingProvider = { model: 'overflowing', embed: async (texts) => texts.map(() => [0.5, huge]) };
      await expect(c.embedMany(provider, ['big'])).rejects.toMatchObject({ code: 'PROVIDER_INVALID', message: expect.stringMatching(/float32/) });
    }
    await new Promise((r) => setTimeout(r, 20)); // writes would be deferred: give them the chance
    expect(await file.redis.exists(c.keyFor('overflowing', 'big'))).toBe(0);
    // The largest float32 itself is fine.
    const edge: EmbeddingProvider = { model: 'edge', embed: async (texts) => texts.map(() => [3.4028234663852886e38, -3.4028234663852886e38]) };
    expect(await c.embed(edge, 'x')).toEqual([3.4028234663852886e38, -3.4028234663852886e38]);
  });

  it('a busy event loop is not a slow Redis: a lookup reply waiting in the socket when timeoutMs expires is a hit', async () => {
    const c = cache({ timeoutMs: 50 });
    const provider = fakeProvider({ model: 'busy-loop' });
    await file.redis.set(c.keyFor(provider.model, 'warm'), encodeVector(vectorFor('warm', 8, provider.model)));
    const pending = c.embed(provider, 'warm'); // the MGET is on the wire
    await new Promise((r) => setImmediate(r)); // block after this turn's I/O phase: the next turn runs timers first
    const until = performance.now() + 200;
    while (performance.now() < until) {
      /* busy: Redis answers meanwhile */
    }
    expect(await pending).toEqual(f32(vectorFor('warm', 8, provider.model)));
    expect(provider.calls).toEqual([]);
    expect(c.stats()).toMatchObject({ hits: 1, errors: 0 });
  });

  it('provider errors propagate unchanged and nothing is cached', async () => {
    const c = cache();
    const provider = fakeProvider();
    const boom = new Error('rate limited');
    provider.failWith = boom;
    await expect(c.embedMany(provider, ['a', 'b'])).rejects.toBe(boom);
    provider.failWith = undefined;
    await new Promise((r) => setTimeout(r, 20)); // writes would be deferred: give them the chance
    expect(await file.redis.exists(c.keyFor(provider.model, 'a'), c.keyFor(provider.model, 'b'))).toBe(0);
    await c.embedMany(provider, ['a']);
    expect(provider.calls).toHaveLength(2);
  });
});

describe('bad input and bad providers: typed errors, nothing cached', () => {
  it('non-string texts', async () => {
    const c = cache();
    await expect(c.embedMany(fakeProvider(), ['ok', 42 as unknown as string])).rejects.toThrow(InvalidArgumentError);
    await expect(c.embedMany(fakeProvider(), 'text' as unknown as string[])).rejects.toThrow(/texts must be an array/);
    await expect(c.embedMany(fakeProvider(), [null as unknown as string])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/texts\[0\]/) });
    expect(await c.embedMany(fakeProvider(), [])).toEqual([]);
  });

  it('an empty model name, or no embed function', async () => {
    const c = cache();
    await expect(c.embed({ ...fakeProvider(), model: '' }, 'x')).rejects.toThrow(ProviderInvalidError);
    await expect(c.embed({ model: 'm' } as EmbeddingProvider, 'x')).rejects.toMatchObject({ code: 'PROVIDER_INVALID' });
  });

  const broken: Array<[string, (texts: string[]) => unknown]> = [
    ['too few vectors', (t) => t.slice(1).map(() => [1, 2])],
    ['non-finite numbers', (t) => t.map(() => [1, Number.POSITIVE_INFINITY])],
    ['NaN', (t) => t.map(() => [Number.NaN, 1])],
    ['mixed dimensions', (t) => t.map((_, i) => (i === 0 ? [1, 2] : [1, 2, 3]))],
    ['not an array', () => ({ embeddings: [] })],
  ];
  for (const [what, answer] of broken) {
    it(`a provider returning ${what}: PROVIDER_INVALID, nothing written`, async () => {
      const c = cache();
      const provider: EmbeddingProvider = { model: 'bad', embed: async (texts) => answer(texts) as number[][] };
      await expect(c.embedMany(provider, ['a', 'b'])).rejects.toBeInstanceOf(ProviderInvalidError);
      await new Promise((r) => setTimeout(r, 20));
      expect(await file.redis.exists(c.keyFor('bad', 'a'), c.keyFor('bad', 'b'))).toBe(0);
    });
  }

  it('bad options name the option', () => {
    expect(() => createEmbeddingCache({ redis: file.redis, ttlSeconds: 0 })).toThrow(/ttlSeconds: must be a whole number >= 1/);
    expect(() => createEmbeddingCache({ redis: file.redis, memory: { maxEntries: -1 } })).toThrow(ConfigError);
    expect(() => createEmbeddingCache({ redis: file.redis, ttl: 5 } as never)).toThrow(/ttl: unknown option/);
    expect(() => createEmbeddingCache({ redis: {} as never })).toThrow(/ioredis/);
  });
});
