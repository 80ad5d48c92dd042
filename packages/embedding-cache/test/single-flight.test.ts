import { waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { embedMany, wrapEmbeddingModel } from 'ai';
import { MockEmbeddingModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { embeddingCacheMiddleware } from '../src/ai-sdk.js';
import { createEmbeddingCache, type EmbeddingCacheOptions, type EmbeddingProvider } from '../src/index.js';
import { f32, fakeProvider, fileRedis, vectorFor } from './helpers.js';

const file = fileRedis({ flush: true });
const cache = (opts: Partial<EmbeddingCacheOptions> = {}) => createEmbeddingCache({ redis: file.redis, logger: recordingLogger(), memory: false, ...opts });

/** A provider whose one call hangs until the test settles it: a caller with its own credentials (or signal). */
function heldProvider(model: string): EmbeddingProvider & { started: () => boolean; fail: (err: Error) => void; calls: string[][] } {
  let reject: ((err: Error) => void) | undefined;
  const calls: string[][] = [];
  return {
    model,
    calls,
    started: () => reject !== undefined,
    fail: (err) => reject?.(err),
    embed: (texts) => {
      calls.push([...texts]);
      return new Promise<number[][]>((_, rej) => (reject = rej));
    },
  };
}

/** A model name of its own per test: a late write-back of one test can never be another's hit. */
let models = 0;
const uniqueModel = (): string => `single-flight-${++models}`;

const sorted = (calls: string[][]): string[][] => calls.map((c) => [...c].sort()).sort((a, b) => a.join().localeCompare(b.join()));

describe('single-flight: one caller failing never fails another', () => {
  it("B joined A's call; A's credentials fail: A gets its error, B re-issues its texts and gets its vectors", async () => {
    const c = cache();
    const m = uniqueModel();
    const a = heldProvider(m);
    const b = fakeProvider({ model: m });
    const pa = c.embedMany(a, ['shared', 'only-a']);
    await waitFor(() => a.started(), { description: "A's provider call" });
    const pb = c.embedMany(b, ['shared', 'only-b']);
    await waitFor(() => c.stats().coalesced >= 1, { description: "B joining A's call" });
    a.fail(new Error('401 invalid api key (caller A)'));
    await expect(pa).rejects.toThrow(/caller A/);
    expect(await pb).toEqual([f32(vectorFor('shared', 8, m)), f32(vectorFor('only-b', 8, m))]);
    expect(sorted(b.calls)).toEqual([['only-b'], ['shared']]);
  });

  it("B's own re-issue fails too: B gets B's error, never A's", async () => {
    const c = cache();
    const m = uniqueModel();
    const a = heldProvider(m);
    const b = fakeProvider({ model: m });
    b.failWith = new Error('quota exceeded (caller B)');
    const pa = c.embedMany(a, ['shared']);
    await waitFor(() => a.started());
    const pb = c.embedMany(b, ['shared']);
    expect(c.stats().coalesced).toBe(1);
    a.fail(new Error('401 (caller A)'));
    await expect(pa).rejects.toThrow(/caller A/);
    await expect(pb).rejects.toThrow(/caller B/);
  });

  it('three callers on one text, the first two failing with their own errors: each gets its own outcome', async () => {
    const c = cache();
    const m = uniqueModel();
    const a = heldProvider(m);
    const b = heldProvider(m);
    const ok = fakeProvider({ model: m });
    const pa = c.embedMany(a, ['t']);
    await waitFor(() => a.started());
    const pb = c.embedMany(b, ['t']);
    const pc = c.embedMany(ok, ['t']);
    a.fail(new Error('aborted (caller A)'));
    await expect(pa).rejects.toThrow(/caller A/);
    await waitFor(() => b.started(), { description: 'B re-issuing' });
    b.fail(new Error('aborted (caller B)'));
    await expect(pb).rejects.toThrow(/caller B/);
    expect(await pc).toEqual([f32(vectorFor('t', 8, m))]);
    expect(ok.calls).toEqual([['t']]);
  });

  it('AI SDK: caller A aborts; caller B (no signal) on the same values gets its embeddings, the model re-asked once', async () => {
    const c = cache({ memory: { maxEntries: 100 } });
    const seen: string[][] = [];
    let firstCall = true;
    const inner = new MockEmbeddingModelV4({
      provider: 'mock',
      modelId: uniqueModel(),
      maxEmbeddingsPerCall: 100,
      doEmbed: async ({ values, abortSignal }) => {
        seen.push([...values]);
        if (firstCall) {
          firstCall = false;
          // The first call hangs until its caller's signal aborts it.
          await new Promise((_, reject) => abortSignal?.addEventListener('abort', () => reject(abortSignal.reason as Error), { once: true }));
        }
        return { embeddings: values.map((v) => vectorFor(v, 4, 'mock')), warnings: [] };
      },
    });
    const model = wrapEmbeddingModel({ model: inner, middleware: embeddingCacheMiddleware(c) });
    const controller = new AbortController();
    const pa = embedMany({ model, values: ['p', 'q'], abortSignal: controller.signal, maxRetries: 0 });
    await waitFor(() => seen.length === 1, { description: "A's model call" });
    const pb = embedMany({ model, values: ['q', 'p'], maxRetries: 0 });
    await waitFor(() => c.stats().coalesced >= 2, { description: "B joining A's call" });
    controller.abort(new Error('user went away (caller A)'));
    await expect(pa).rejects.toThrow(/caller A/);
    const b = await pb;
    expect(b.embeddings).toEqual([f32(vectorFor('q', 4, 'mock')), f32(vectorFor('p', 4, 'mock'))]);
    expect(seen).toHaveLength(2);
    expect([...(seen[1] ?? [])].sort()).toEqual(['p', 'q']);
  });

  it("a caller's own signal releases it while it waits on another caller's call; that call still serves the others", async () => {
    const c = cache();
    const m = uniqueModel();
    const slow = fakeProvider({ model: m, latencyMs: 300 });
    const pa = c.embedMany(slow, ['x']);
    await waitFor(() => slow.calls.length === 1);
    const controller = new AbortController();
    const pb = c.embedMany(fakeProvider({ model: m }), ['x'], { signal: controller.signal });
    const t0 = performance.now();
    controller.abort(new Error('B gave up'));
    await expect(pb).rejects.toThrow(/B gave up/);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(await pa).toEqual([f32(vectorFor('x', 8, m))]);
  });
});
