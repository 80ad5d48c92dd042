import { waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { embed, embedMany, wrapEmbeddingModel } from 'ai';
import { MockEmbeddingModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { embeddingCacheMiddleware } from '../src/ai-sdk.js';
import { createEmbeddingCache } from '../src/index.js';
import { f32, fileRedis, vectorFor } from './helpers.js';

const file = fileRedis();

function mockModel(): MockEmbeddingModelV4 & { seen: string[][] } {
  const seen: string[][] = [];
  const model = new MockEmbeddingModelV4({
    provider: 'mock',
    modelId: 'mock-embed',
    maxEmbeddingsPerCall: 100,
    doEmbed: async ({ values }) => {
      seen.push([...values]);
      return { embeddings: values.map((v) => vectorFor(v, 4, 'mock')), usage: { tokens: values.length * 10 }, warnings: [] };
    },
  });
  return Object.assign(model, { seen });
}

describe('AI SDK middleware (wrapEmbeddingModel)', () => {
  it('cached values skip the model; usage counts only what was embedded', async () => {
    const cache = createEmbeddingCache({ redis: file.redis, logger: recordingLogger() });
    const inner = mockModel();
    const model = wrapEmbeddingModel({ model: inner, middleware: embeddingCacheMiddleware(cache) });

    const first = await embedMany({ model, values: ['a', 'b', 'c'] });
    expect(first.embeddings).toEqual(['a', 'b', 'c'].map((v) => f32(vectorFor(v, 4, 'mock'))));
    expect(first.usage.tokens).toBe(30);

    const second = await embedMany({ model, values: ['b', 'd', 'a'] });
    expect(second.embeddings).toEqual(['b', 'd', 'a'].map((v) => f32(vectorFor(v, 4, 'mock'))));
    expect(second.usage.tokens).toBe(10);
    expect(inner.seen).toEqual([['a', 'b', 'c'], ['d']]);

    const single = await embed({ model, value: 'c' });
    expect(single.embedding).toEqual(f32(vectorFor('c', 4, 'mock')));
    expect(inner.seen).toHaveLength(2);
  });

  it('dimensions and provider options are part of the key', async () => {
    const cache = createEmbeddingCache({ redis: file.redis, logger: recordingLogger(), memory: false });
    const inner = mockModel();
    const model = wrapEmbeddingModel({ model: inner, middleware: embeddingCacheMiddleware(cache) });
    await embed({ model, value: 'z' });
    await waitFor(async () => (await file.redis.exists(cache.keyFor('mock:mock-embed', 'z'))) === 1);
    await embed({ model, value: 'z', providerOptions: { mock: { taskType: 'query' } } });
    expect(inner.seen).toEqual([['z'], ['z']]);
  });

  it('a model error reaches the caller unchanged', async () => {
    const cache = createEmbeddingCache({ redis: file.redis, logger: recordingLogger() });
    const failing = new MockEmbeddingModelV4({
      doEmbed: async () => {
        throw new Error('quota exceeded');
      },
    });
    const model = wrapEmbeddingModel({ model: failing, middleware: embeddingCacheMiddleware(cache) });
    await expect(embedMany({ model, values: ['x'], maxRetries: 0 })).rejects.toThrow(/quota exceeded/);
  });
});
