import { waitFor } from '@lota/redis-testkit';
import { expect, it } from 'vitest';
import { LockLostError, LockTimeoutError } from '../src/index.js';
import { scopeKeys } from '../src/keys.js';
import { forEachTopology, freshScope, pause } from './helpers.js';

forEachTopology('lease', (t) => {
  it('auto-extension keeps the lock through an fn that runs several TTLs', async () => {
    const lock = t.lock({ ttlMs: 300 });
    const other = t.lock({ ttlMs: 300 });
    const s = freshScope();
    const ttls: number[] = [];
    const contenders: unknown[] = [];
    await lock.withLock(s, async (ctx) => {
      const end = performance.now() + 1_300; // > 4 TTLs
      while (performance.now() < end) {
        ttls.push(await t.client.pttl(scopeKeys('lota', s).owner));
        contenders.push(await other.withLock(s, async () => 'stolen', { acquireTimeoutMs: 50 }).catch((e: unknown) => e));
        expect(ctx.signal.aborted).toBe(false);
      }
    });
    expect(ttls.every((ms) => ms > 0)).toBe(true);
    expect(contenders.length).toBeGreaterThan(5);
    expect(contenders.every((c) => c instanceof LockTimeoutError)).toBe(true);
    expect(await t.client.exists(scopeKeys('lota', s).owner)).toBe(0); // released at the end
  });

  it('lease lost (the key deleted by hand): signal aborts at the next extension, and withLock rejects with LockLostError once fn settles', async () => {
    const lock = t.lock({ ttlMs: 600 });
    const s = freshScope();
    let abortedAfter = -1;
    let settled = false;
    const result = lock
      .withLock(s, async (ctx) => {
        await t.client.del(scopeKeys('lota', s).owner);
        const t0 = performance.now();
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
        abortedAfter = performance.now() - t0;
        expect(ctx.signal.reason).toBeInstanceOf(LockLostError);
        await pause(50); // fn keeps going a little; withLock must wait for it
        settled = true;
        return 'value that must not be returned';
      })
      .catch((e: unknown) => e);
    const err = await result;
    expect(settled).toBe(true);
    expect(err).toBeInstanceOf(LockLostError);
    expect((err as LockLostError).code).toBe('LOCK_LOST');
    expect((err as Error).message).toMatch(/Redis no longer holds it/);
    expect(abortedAfter).toBeGreaterThanOrEqual(0);
    expect(abortedAfter).toBeLessThan(600 / 3 + 100);
  });

  it('without autoExtend the lease ends locally at its TTL: signal aborts, LockLostError', async () => {
    const lock = t.lock({ ttlMs: 200, autoExtend: false });
    const s = freshScope();
    let abortedAt = 0;
    const t0 = performance.now();
    const err = await lock
      .withLock(s, async (ctx) => {
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
        abortedAt = performance.now() - t0;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect(abortedAt).toBeGreaterThan(150);
    expect(abortedAt).toBeLessThan(300);
  });

  it('an event-loop stall past the lease aborts the signal as soon as the loop runs again', async () => {
    const lock = t.lock({ ttlMs: 200 });
    const s = freshScope();
    const err = await lock
      .withLock(s, async (ctx) => {
        const end = performance.now() + 400;
        while (performance.now() < end) {
          // a synchronous stall: no timer can run
        }
        await waitFor(() => ctx.signal.aborted, { timeoutMs: 100, description: 'the abort after the stall' });
        expect((ctx.signal.reason as Error).message).toMatch(/stalled|ran out/);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
  });

  it('fn errors after a loss surface as LockLostError with the fn error as cause', async () => {
    const lock = t.lock({ ttlMs: 300 });
    const s = freshScope();
    const boom = new Error('write refused by the store');
    const err = (await lock
      .withLock(s, async (ctx) => {
        await t.client.del(scopeKeys('lota', s).owner);
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
        throw boom;
      })
      .catch((e: unknown) => e)) as LockLostError;
    expect(err).toBeInstanceOf(LockLostError);
    expect(err.cause).toBe(boom);
  });

  it('the caller can abort a wait with its own signal', async () => {
    const lock = t.lock();
    const s = freshScope();
    let release!: () => void;
    const held = lock.withLock(s, () => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const waiting = t.lock().withLock(s, async () => 'never', { signal: controller.signal }).catch((e: unknown) => e);
    await pause(50);
    controller.abort(new Error('request cancelled'));
    expect(((await waiting) as Error).message).toBe('request cancelled');
    release();
    await held;
  });
});
