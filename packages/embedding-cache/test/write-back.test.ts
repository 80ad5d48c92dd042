import { testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { f32, fakeProvider, perTestCache, vectorFor } from './helpers.js';

const caps = await testkitCapabilities();
const { setup } = perTestCache();

describe('write-back with a healthy Redis: back-pressure, nothing dropped', () => {
  it('50 000 texts from an instant provider: every one is cached, nothing dropped, no errors', async () => {
    const { redis, cache } = await setup();
    const provider = fakeProvider({ dims: 8 });
    const texts = Array.from({ length: 50_000 }, (_, i) => `text ${i}`);
    const out = await cache.embedMany(provider, texts);
    expect(out).toHaveLength(50_000);
    await waitFor(async () => (await redis.dbsize()) === 50_000, { timeoutMs: 20_000, description: 'all 50 000 write-backs' });
    expect(cache.stats()).toMatchObject({ errors: 0, writesDropped: 0 });
  });

  it('many concurrent callers against a tiny write budget: they wait for Redis, and every vector lands', async () => {
    const { redis, cache } = await setup({ maxPendingWriteBytes: 4_096, batchSize: 50 });
    const provider = fakeProvider({ dims: 32 }); // 136 bytes per entry: the budget holds ~30
    const callers = Array.from({ length: 40 }, (_, c) => cache.embedMany(provider, Array.from({ length: 250 }, (_, i) => `c${c} t${i}`)));
    const results = await Promise.all(callers);
    expect(results.flat()).toHaveLength(10_000);
    await waitFor(async () => (await redis.dbsize()) === 10_000, { timeoutMs: 20_000, description: 'all 10 000 write-backs' });
    expect(cache.stats()).toMatchObject({ errors: 0, writesDropped: 0 });
  });

  it('the event loop blocked past timeoutMs while writes wait for budget: a busy process is not a stalled Redis, nothing dropped', async () => {
    const { redis, cache } = await setup({ timeoutMs: 50, maxPendingWriteBytes: 2_048, batchSize: 20 });
    const provider = fakeProvider({ dims: 32 });
    const calls = Array.from({ length: 10 }, (_, c) => cache.embedMany(provider, Array.from({ length: 100 }, (_, i) => `busy c${c} t${i}`)));
    await waitFor(() => provider.calls.length >= 10, { intervalMs: 1, description: 'writes queued behind the budget' });
    // A synchronous stretch of CPU work after the I/O phase of a loop turn (a setImmediate): Redis
    // answers meanwhile and its replies wait in the socket, while the stall timer expires; the
    // next turn runs timers before it reads the socket.
    // Several stretches, each starting a turn later, so one also lands between a write's
    // reservation and its pipeline actually leaving the process.
    for (let stretch = 1; stretch <= 4; stretch++) {
      for (let turn = 0; turn < stretch; turn++) await new Promise((r) => setImmediate(r));
      const until = performance.now() + 150;
      while (performance.now() < until) {
        /* busy */
      }
    }
    await Promise.all(calls);
    await waitFor(async () => (await redis.dbsize()) === 1_000, { timeoutMs: 20_000, description: 'all 1 000 write-backs' });
    expect(cache.stats().writesDropped).toBe(0);
  });
});

describe.skipIf(!caps.control)('write-back with an unhealthy Redis: bounded, drops counted', () => {
  it('Redis paused with the write budget full: calls settle within their bound, drops go to writesDropped, the budget refills after resume', async () => {
    const TIMEOUT = 100;
    const { server, redis, cache } = await setup({ timeoutMs: TIMEOUT, maxPendingWriteBytes: 2_048 });
    const provider = fakeProvider({ dims: 32 });
    await server.pause();
    let n = 0;
    for (let round = 0; round < 5; round++) {
      const texts = Array.from({ length: 40 }, () => `paused ${n++}`); // 5 440 bytes: over the budget every time
      const t0 = performance.now();
      expect(await cache.embedMany(provider, texts)).toEqual(texts.map((t) => f32(vectorFor(t, 32, provider.model))));
      // One lookup timeout, plus at most two stall windows waiting for write budget, plus slack for a loaded CI box.
      expect(performance.now() - t0).toBeLessThan(3 * TIMEOUT + 300);
    }
    const dropped = cache.stats().writesDropped;
    expect(dropped).toBeGreaterThan(0);
    await server.resume();
    // What fitted in the budget was queued and lands; what was dropped is not there.
    await waitFor(async () => (await redis.dbsize()) === 200 - dropped, { timeoutMs: 10_000, description: 'the queued writes to land' });
    // Healthy again: the next over-budget batch is written completely, nothing more dropped.
    const texts = Array.from({ length: 100 }, (_, i) => `after ${i}`);
    await cache.embedMany(provider, texts);
    await waitFor(async () => (await redis.dbsize()) === 300 - dropped, { timeoutMs: 10_000, description: 'post-resume writes' });
    expect(cache.stats().writesDropped).toBe(dropped);
  });
});

describe('memory: false: a vector is findable in-process until its write-back settles', () => {
  it('the next call for a text embedded a moment ago does not embed it again', async () => {
    const { cache } = await setup();
    const provider = fakeProvider();
    await cache.embed(provider, 'just now');
    await cache.embed(provider, 'just now'); // its write-back has not even been sent yet
    expect(provider.calls).toEqual([['just now']]);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it.skipIf(!caps.control)('Redis paused: the fresh vector serves repeats until the write lands, then Redis does', async () => {
    const { server, redis, cache } = await setup({ timeoutMs: 100 });
    const provider = fakeProvider();
    await server.pause();
    await cache.embed(provider, 'while paused');
    for (let i = 0; i < 3; i++) expect(await cache.embed(provider, 'while paused')).toEqual(f32(vectorFor('while paused', 8, provider.model)));
    expect(provider.calls).toEqual([['while paused']]);
    await server.resume();
    await waitFor(async () => (await redis.exists(cache.keyFor(provider.model, 'while paused'))) === 1, { description: 'the write-back' });
    const before = cache.stats();
    await cache.embed(provider, 'while paused');
    const after = cache.stats();
    expect(provider.calls).toHaveLength(1);
    // Served by Redis now: the in-process copy was released when its write settled.
    expect(after.hits - before.hits).toBe(1);
    expect(after.memoryHits - before.memoryHits).toBe(0);
  });
});
