// Regression tests for defects a hostile review reproduced (each failed on the code before its
// fix). Every test attacks one promise of the README: a stalled waiter, a read racing a write, a
// restart without persistence, a server that refuses connections, a caller that gives up.
import { FencedStore } from '@lota/fault-harness';
import { startCluster, waitFor, withAdmin } from '@lota/redis-testkit';
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ConfigError, LockTimeoutError, createRedisLock, type RedisLock } from '../src/index.js';
import { scopeKeys } from '../src/keys.js';
import { caps, freshScope, pause, perTestResources } from './helpers.js';

const res = perTestResources();

/** Holds `scope` on `lock` until `release()`; `held` resolves with the fencing token once inside. */
function hold(lock: RedisLock, scope: string): { held: Promise<number>; release: () => void; done: Promise<void> } {
  let release: (() => void) | undefined;
  let entered!: (token: number) => void;
  const held = new Promise<number>((r) => (entered = r));
  const done = lock.withLock(scope, (ctx) => {
    entered(ctx.fencingToken);
    return new Promise<void>((r) => (release = r));
  });
  return { held, done, release: () => release?.() };
}

describe.skipIf(!caps.control)('safety under adversarial timing', () => {
  it('#1 a waiter whose event loop stalls past its granted lease never runs fn while a newer holder does', async () => {
    const s = await res.server();
    const c = res.client(s);
    const scope = freshScope('stalled-waiter');
    const keys = scopeKeys('lota', scope);
    const holder = hold(res.lock({ clients: c }), scope);
    await holder.held;
    // The waiter asks for a 500 ms lease: a release grants it the lock for 500 ms.
    const waiter = res.child('waiter', s.url, { scope, ttlMs: 500, holdMs: 50 });
    await waitFor(async () => (await c.zscore(keys.queue, (await c.zrange(keys.queue, 0, 0))[0] ?? '')) !== null, {
      description: 'the waiter to queue in Redis',
    });
    await waitFor(async () => Number((await c.pubsub('NUMSUB', 'lota:lock:released'))[1]) >= 1, { description: 'the waiter to subscribe' });
    waiter.send('block 2500'); // its event loop stalls (GC, sync work) ...
    await waitFor(() => waiter.lines.includes('blocking'), { description: 'the stall to begin' });
    holder.release(); // ... while the release grants it the lock (a 500 ms lease) and tells it by message
    await waitFor(async () => (await c.exists(keys.owner)) === 0, { timeoutMs: 2_000, description: 'the unused grant to expire' });
    // A newer contender takes the expired lock and holds it well past the waiter's stall.
    let newerUntil = 0;
    await res.lock({ clients: c }).withLock(scope, async () => {
      await pause(3_000);
      newerUntil = Date.now();
    });
    await waitFor(() => waiter.lines.some((l) => l.startsWith('released')), { timeoutMs: 10_000, description: 'the waiter to run after all' });
    const acquiredAt = Number(waiter.lines.find((l) => l.startsWith('acquired'))?.split(' ')[2]);
    expect(acquiredAt).toBeGreaterThanOrEqual(newerUntil); // it ran only after the newer holder finished
    expect(await waiter.exited).toBe(0);
  }, 20_000);

  describe('#2 fencing tokens keep rising when the counter is lost or rolled back', () => {
    it('after FLUSHALL, after a restart without persistence, and a fenced store accepts the new holder and refuses the stale one', async () => {
      const s = await res.server();
      const c = res.client(s);
      const l = res.lock({ clients: c });
      const scope = freshScope('fence-flush');
      // The store outlives the lock's Redis data below: it lives on a server of its own.
      const store = new FencedStore(res.client(await res.server()));
      const tokens: number[] = [];
      const staleToken = await l.withLock(scope, async (ctx) => {
        expect((await store.write('doc', ctx.fencingToken, 'first')).accepted).toBe(true);
        return ctx.fencingToken;
      });
      tokens.push(staleToken);
      for (let i = 0; i < 3; i++) tokens.push(await l.withLock(scope, async (ctx) => ctx.fencingToken));
      await c.flushall();
      tokens.push(await l.withLock(scope, async (ctx) => {
        expect((await store.write('doc', ctx.fencingToken, 'after flush')).accepted).toBe(true); // a new legitimate holder is accepted
        return ctx.fencingToken;
      }));
      await s.kill();
      await s.restart(); // no persistence: everything is gone
      await waitFor(() => c.status === 'ready', { timeoutMs: 5_000, description: 'the client to reconnect' });
      tokens.push(await l.withLock(scope, async (ctx) => ctx.fencingToken, { acquireTimeoutMs: 5_000 }));
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
      expect((await store.write('doc', staleToken, 'stale')).accepted).toBe(false); // and the stale holder stays refused
      expect(Number.isSafeInteger(tokens.at(-1))).toBe(true);
    });

    it('after a failover that lost the last increments (the counter went back) and after eviction of the counter', async () => {
      const s = await res.server();
      const c = res.client(s);
      const l = res.lock({ clients: c });
      const scope = freshScope('fence-rollback');
      const keys = scopeKeys('lota', scope);
      const first = await l.withLock(scope, async (ctx) => ctx.fencingToken);
      const before = await l.withLock(scope, async (ctx) => ctx.fencingToken);
      await c.set(keys.fence, String(first - 1)); // a replica that missed the last writes became primary
      const afterRollback = await l.withLock(scope, async (ctx) => ctx.fencingToken);
      expect(afterRollback).toBeGreaterThan(before);
      await c.del(keys.fence); // what eviction under allkeys-* does
      const afterEviction = await l.withLock(scope, async (ctx) => ctx.fencingToken);
      expect(afterEviction).toBeGreaterThan(afterRollback);
    });
  });

  describe('#3 the first waiter’s pub/sub set-up cannot hold withLock past its bounds', () => {
    it('server refusing new connections: LockTimeoutError within acquireTimeoutMs, the signal still cancels, and a release is found by polling', async () => {
      const s = await res.server();
      const c = res.client(s);
      const waiterClient = res.client(s, { maxRetriesPerRequest: 20 }); // ioredis' default; connected before the server starts refusing
      await waitFor(() => waiterClient.status === 'ready');
      const scope = freshScope('no-subscribe');
      const holder = hold(res.lock({ clients: c }), scope);
      await holder.held;
      const clients = String(await c.call('CLIENT', 'LIST')).split('\n').filter(Boolean).length;
      await c.config('SET', 'maxclients', String(clients)); // the lock's subscriber connection is refused
      res.defer(() => withAdmin({ host: s.host, port: s.port }, (a) => a.config('SET', 'maxclients', '10000')).catch(() => undefined));
      const l = res.lock({ clients: waiterClient });

      let t0 = performance.now();
      const timedOut = await l.withLock(scope, async () => 'never', { acquireTimeoutMs: 1_000 }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(LockTimeoutError);
      expect(performance.now() - t0).toBeLessThan(1_500);

      const controller = new AbortController();
      t0 = performance.now();
      const aborted = l.withLock(scope, async () => 'never', { acquireTimeoutMs: 10_000, signal: controller.signal }).catch((e: unknown) => e);
      setTimeout(() => controller.abort(new Error('request cancelled')), 300);
      expect(((await aborted) as Error).message).toBe('request cancelled');
      expect(performance.now() - t0).toBeLessThan(800);

      const waiting = l.withLock(scope, async () => performance.now(), { acquireTimeoutMs: 5_000 });
      await pause(300);
      const releasedAt = performance.now();
      holder.release();
      expect((await waiting) - releasedAt).toBeLessThan(1_500); // polling, not the 3 s grant lapse
    }, 20_000);
  });

  it('#4 a signal that fires while the acquire is in flight: fn never runs, the lock is released, the call rejects with the reason', async () => {
    const s = await res.server();
    const c = res.client(s);
    const l = res.lock({ clients: c });
    const scope = freshScope('abort-in-flight');
    await l.withLock(scope, async () => undefined); // scripts loaded
    await s.pause();
    const controller = new AbortController();
    let ran = false;
    const call = l.withLock(scope, async () => void (ran = true), { signal: controller.signal }).catch((e: unknown) => e);
    await pause(100); // the acquire is on the wire, unanswered
    const abortedAt = performance.now();
    controller.abort(new Error('client went away'));
    expect(((await call) as Error).message).toBe('client went away');
    expect(performance.now() - abortedAt).toBeLessThan(200); // at once, not when Redis answers
    await s.resume(); // now Redis runs the acquire (and the leave queued behind it)
    expect(ran).toBe(false);
    await waitFor(async () => (await c.exists(scopeKeys('lota', scope).owner)) === 0, { timeoutMs: 1_000, description: 'the lock to be released' });
  });

  it('#5 leases and timeouts beyond what a timer can wait (2^31-1 ms) are refused instead of firing at once', async () => {
    const s = await res.server();
    const c = res.client(s);
    const tooLong = 2 ** 31;
    expect(() => createRedisLock({ clients: c, ttlMs: tooLong })).toThrow(ConfigError);
    expect(() => createRedisLock({ clients: c, acquireTimeoutMs: tooLong })).toThrow(ConfigError);
    const l = res.lock({ clients: c });
    const scope = freshScope('huge-ttl');
    await expect(l.withLock(scope, async () => 'x', { ttlMs: tooLong })).rejects.toThrow(InvalidArgumentError);
    await expect(l.withLock(scope, async () => 'x', { ttlMs: tooLong })).rejects.toThrow(/2147483647/);
    await expect(l.withLock(scope, async () => 'x', { acquireTimeoutMs: tooLong })).rejects.toThrow(InvalidArgumentError);
    // The largest accepted lease is extended a handful of times at most, not every millisecond.
    const calls = async (): Promise<number> => {
      const info = await c.info('commandstats');
      return [...info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    };
    await l.withLock(scope, async () => undefined, { ttlMs: 2 ** 31 - 1 });
    const before = await calls();
    await l.withLock(scope, () => pause(500), { ttlMs: 2 ** 31 - 1 });
    expect((await calls()) - before).toBeLessThanOrEqual(3); // acquire, release, at most one extension
  });

  describe('#6 no idle lock while someone waits', () => {
    it('fair: false on one master: the next local caller does not sleep while the lock is free', async () => {
      const s = await res.server();
      const a = res.lock({ clients: res.client(s), fair: false });
      const dead = res.client(s);
      const scope = freshScope('unfair-idle');
      const keys = scopeKeys('lota', scope);
      const first = hold(a, scope);
      await first.held;
      // A waiter in another process queues, then its process dies: its entry lingers (3 s).
      const gone = res.lock({ clients: dead, fair: false });
      const deadCall = gone.withLock(scope, async () => 'never', { acquireTimeoutMs: 2_000 }).catch(() => 'gave up');
      res.defer(() => deadCall);
      await waitFor(async () => (await dead.zcard(keys.queue)) === 1, { description: 'the other process to queue' });
      dead.disconnect();
      // Four more local callers: the holder may pass the lock on locally 3 times, then must yield.
      const t0 = performance.now();
      const gaps: number[] = [];
      let last = 0;
      const runs = Array.from({ length: 4 }, () =>
        a.withLock(scope, async () => {
          const now = performance.now();
          if (last) gaps.push(now - last);
          last = now;
        }, { acquireTimeoutMs: 10_000 }),
      );
      await pause(20);
      last = performance.now();
      first.release();
      await Promise.all(runs);
      expect(Math.max(...gaps)).toBeLessThan(500); // never the 1 s refresh while the lock is free
      expect(performance.now() - t0).toBeLessThan(2_000);
    });

    it('a grant message read before the release reply that queued its caller is not dropped (no 1 s sleep on a granted lock)', async () => {
      const s = await res.server();
      const mine = res.client(s);
      const theirs = res.client(s);
      const scope = freshScope('early-grant');
      const keys = scopeKeys('lota', scope);
      await mine.set('big', Buffer.alloc(48 * 1024 * 1024, 1)); // a large reply ahead of the release on the shared client
      const a = res.lock({ clients: mine });
      const b = res.lock({ clients: theirs });
      const first = hold(a, scope);
      await first.held;
      let otherDone = 0;
      const other = b.withLock(scope, async () => void (otherDone = performance.now()), { acquireTimeoutMs: 10_000 });
      await waitFor(async () => (await theirs.zcard(keys.queue)) === 1, { description: 'the other process to queue' });
      // Local callers 2..4 are handed the lock locally (the streak), the 5th is queued in Redis
      // behind the other process by the 4th's release; the 4th sends a big GET just before it.
      let fifthAt = 0;
      const local = Array.from({ length: 4 }, (_, i) =>
        a.withLock(scope, async () => {
          if (i === 2) void mine.getBuffer('big');
          if (i === 3) fifthAt = performance.now();
        }, { acquireTimeoutMs: 10_000 }),
      );
      await pause(20);
      first.release();
      await Promise.all([...local, other]);
      expect(otherDone).toBeGreaterThan(0);
      expect(fifthAt - otherDone).toBeLessThan(600);
    }, 20_000);
  });

  describe.skipIf(!caps.topologies)('#6 Cluster: an acquire re-sent after its caller gave up', () => {
    it('holds the scope at most a short grace (3 s), not a whole lease, even when it lands after its leave', async () => {
      const cluster = await startCluster({ masters: 3 });
      res.defer(() => cluster.dispose());
      const ports = cluster.startupNodes.map((a) => Number(a.split(':')[1]));
      const admin = <T>(port: number, ...args: string[]): Promise<T> => withAdmin({ host: '127.0.0.1', port }, (a) => a.call(args[0]!, ...args.slice(1)) as Promise<T>);
      const client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { retryDelayOnMoved: 1_000, slotsRefreshInterval: 0 });
      client.on('error', () => undefined);
      res.defer(() => client.disconnect());
      await waitFor(() => client.status === 'ready', { description: 'cluster client ready' });
      const scope = freshScope('moved');
      const keys = scopeKeys('lota', scope);
      const slot = await admin<number>(ports[0]!, 'CLUSTER', 'KEYSLOT', keys.owner);
      const nodes = (await admin<string>(ports[0]!, 'CLUSTER', 'NODES')).trim().split('\n').map((l) => l.split(' '));
      const serves = (f: string[]): boolean =>
        f.slice(8).some((r) => {
          const [lo = -1, hi = lo] = r.split('-').map(Number);
          return slot >= lo && slot <= hi;
        });
      const to = nodes.find((f) => f[2]?.includes('master') && !serves(f))?.[0];
      expect(to).toBeTruthy();
      // Move the (empty) slot to another master behind the client's back: its slot map is now stale.
      for (const port of ports) await admin(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to!);
      const l = res.lock({ clients: client, ttlMs: 30_000, requestTimeoutMs: 200 });
      // The acquire goes to the old node, gets MOVED and waits 1 s to be re-sent; meanwhile the
      // slot map is refreshed, the call times out, and its leave goes straight to the new node.
      const call = l.withLock(scope, async () => 'never', { acquireTimeoutMs: 150 }).catch((e: unknown) => e);
      await pause(50);
      await new Promise<void>((r) => (client as unknown as { refreshSlotsCache(cb: () => void): void }).refreshSlotsCache(() => r()));
      expect(await call).toBeInstanceOf(Error);
      await waitFor(async () => (await client.exists(keys.owner)) === 1, { timeoutMs: 3_000, description: 'the late acquire to land' });
      const t0 = performance.now();
      const got = await res.lock({ clients: client, ttlMs: 30_000 }).withLock(scope, async () => performance.now() - t0, { acquireTimeoutMs: 6_000 });
      expect(got).toBeLessThan(3_500);
    }, 60_000);
  });

  it('#7 the lock’s pub/sub connection does not keep the process alive after the host quits its client', async () => {
    const s = await res.server();
    const child = res.child('quit', s.url, { scope: freshScope('quit') });
    const code = await Promise.race([child.exited, pause(5_000).then(() => 'still running' as const)]);
    expect(child.lines).toContain('quitting');
    expect(code).toBe(0);
  });
});
