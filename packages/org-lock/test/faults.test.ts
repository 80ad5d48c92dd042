import { FencedStore, type FencedWrite } from '@lota/fault-harness';
import { waitFor, type RedisServer } from '@lota/redis-testkit';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LockLostError, RedisUnreachableError } from '../src/index.js';
import { scopeKeys } from '../src/keys.js';
import { caps, freshScope, pause, perTestResources, type LockChild } from './helpers.js';

const res = perTestResources();
const server = res.server;
const client = (s: RedisServer): Redis => res.client(s);
const lock = res.lock;
function spawnChild(args: string[]): LockChild {
  const [mode = '', url = '', raw = '{}'] = args;
  return res.child(mode, url, JSON.parse(raw) as Record<string, unknown>);
}

describe.skipIf(!caps.control)('faults', () => {
  it('a holder SIGKILLed inside fn: the next waiter gets the lock after the TTL, not before', async () => {
    const s = await server();
    const scope = freshScope('crash');
    const ttlMs = 1_500;
    const { proc, lines } = spawnChild(['hold', s.url, JSON.stringify({ scope, ttlMs, autoExtend: false })]);
    await waitFor(() => lines.some((l) => l.startsWith('held')), { description: 'the child to hold the lock' });
    const heldAt = Number(lines.find((l) => l.startsWith('held'))!.split(' ')[2]);
    proc.kill('SIGKILL');
    const gotAt = await lock({ clients: client(s), ttlMs }).withLock(scope, async () => Date.now(), { acquireTimeoutMs: 10_000 });
    expect(gotAt - heldAt).toBeGreaterThanOrEqual(ttlMs - 20);
    expect(gotAt - heldAt).toBeLessThan(ttlMs + 400);
  });

  it('a waiter SIGKILLed while queued costs the next waiter at most the queue-entry lifetime (3 s), not a lease', async () => {
    const s = await server();
    const scope = freshScope('dead-waiter');
    const c = client(s);
    const holder = lock({ clients: c, ttlMs: 30_000 });
    let release!: () => void;
    const held = holder.withLock(scope, () => new Promise<void>((r) => (release = r)));
    await pause(20);
    const { proc, lines } = spawnChild(['wait', s.url, JSON.stringify({ scope, ttlMs: 30_000 })]);
    await waitFor(() => lines.includes('waiting'), { description: 'the child to queue' });
    proc.kill('SIGKILL');
    const next = lock({ clients: c, ttlMs: 30_000 });
    const t0 = performance.now();
    const waiting = next.withLock(scope, async () => performance.now() - t0, { acquireTimeoutMs: 10_000 });
    await pause(50);
    release(); // the release grants the lock to the oldest waiter: the dead child
    await held;
    const waited = await waiting;
    expect(waited).toBeLessThan(3_000 + 1_500);
  });

  it('a waiter that gave up is never left holding a grant: the next waiter gets the lock at once', async () => {
    const s = await server();
    const c = client(s);
    const scope = freshScope('gave-up');
    const a = lock({ clients: c });
    let release!: () => void;
    const held = a.withLock(scope, () => new Promise<void>((r) => (release = r)));
    await pause(20);
    const quitter = lock({ clients: c }).withLock(scope, async () => 'never', { acquireTimeoutMs: 100 }).catch((e: unknown) => e);
    await quitter;
    const t0 = performance.now();
    const third = lock({ clients: c }).withLock(scope, async () => performance.now() - t0, { acquireTimeoutMs: 5_000 });
    await pause(30);
    release();
    await held;
    expect(await third).toBeLessThan(200);
  });

  it('lease lost because Redis restarted without persistence: signal aborts and LockLostError', async () => {
    const s = await server();
    const scope = freshScope('restart');
    const c = client(s);
    const err = await lock({ clients: c, ttlMs: 900 })
      .withLock(scope, async (ctx) => {
        await s.kill();
        await s.restart();
        await waitFor(() => ctx.signal.aborted, { timeoutMs: 5_000, description: 'the signal to abort' });
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
  });

  it('Redis down: withLock fails with REDIS_UNREACHABLE within acquireTimeoutMs, fn never runs', async () => {
    const s = await server();
    const c = client(s);
    const l = lock({ clients: c });
    await s.kill();
    await waitFor(() => c.status !== 'ready');
    let ran = false;
    const t0 = performance.now();
    const err = await l.withLock('org:x', async () => void (ran = true), { acquireTimeoutMs: 400 }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(700);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect((err as Error).message).toMatch(/Redis did not answer within acquireTimeoutMs \(400 ms\)/);
    expect(ran).toBe(false);
  });

  it('Redis paused: the acquire times out, and the late "ghost" acquisition is undone after resume', async () => {
    const s = await server();
    const c = client(s);
    const l = lock({ clients: c, requestTimeoutMs: 200 });
    const scope = freshScope('paused');
    await s.pause();
    const err = await l.withLock(scope, async () => 'never', { acquireTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    await s.resume();
    // The acquires sent while paused run now; the releases queued behind them undo them.
    await waitFor(async () => (await c.exists(scopeKeys('lota', scope).owner)) === 0, { timeoutMs: 2_000, description: 'no ghost holder' });
    const t0 = performance.now();
    expect(await l.withLock(scope, async () => 'ok', { acquireTimeoutMs: 1_000 })).toBe('ok');
    expect(performance.now() - t0).toBeLessThan(300);
  });

  it('quorum of three masters: works with one down, fails clearly with two down; tokens keep rising', async () => {
    const servers = [await server(), await server(), await server()];
    const clients = servers.map(client);
    const l = lock({ clients, ttlMs: 2_000, requestTimeoutMs: 200 });
    expect(l.quorum).toBe(2);
    const scope = freshScope('quorum');
    const t1 = await l.withLock(scope, async (ctx) => ctx.fencingToken);
    await servers[0]!.kill();
    await waitFor(() => clients[0]!.status !== 'ready');
    const t2 = await l.withLock(scope, async (ctx) => ctx.fencingToken, { acquireTimeoutMs: 2_000 });
    expect(t2).toBeGreaterThan(t1);
    // Exclusion still holds with one master down.
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        l.withLock(scope, async () => {
          max = Math.max(max, ++inside);
          await pause(2);
          inside--;
        }, { acquireTimeoutMs: 5_000 }),
      ),
    );
    expect(max).toBe(1);
    await servers[1]!.kill();
    await waitFor(() => clients[1]!.status !== 'ready');
    const err = (await l.withLock(scope, async () => 'never', { acquireTimeoutMs: 300 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect(err.message).toMatch(/fewer than 2 of 3 Redis masters answered/);
    expect(err.message).toMatch(/127\.0\.0\.1:\d+: connection is/);
  });

  it('a holder on two masters after the third came back with an empty dataset keeps its fencing order', async () => {
    const servers = [await server(), await server(), await server()];
    const clients = servers.map(client);
    const l = lock({ clients, ttlMs: 2_000, requestTimeoutMs: 200 });
    const scope = freshScope('fence');
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) tokens.push(await l.withLock(scope, async (ctx) => ctx.fencingToken));
    // One master loses everything (restart without persistence): its counter starts again at 0.
    await servers[2]!.kill();
    await servers[2]!.restart();
    await waitFor(() => clients[2]!.status === 'ready', { timeoutMs: 5_000 });
    for (let i = 0; i < 3; i++) tokens.push(await l.withLock(scope, async (ctx) => ctx.fencingToken, { acquireTimeoutMs: 2_000 }));
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });
});

describe.skipIf(!caps.control)('mutual exclusion under stress', () => {
  it('4 processes x 3 orgs x 60 read-modify-write increments: no lost update, the fenced store never refuses', async () => {
    const s = await server();
    const orgs = ['org-a', 'org-b', 'org-c'];
    const rounds = 60;
    const children = Array.from({ length: 4 }, () => spawnChild(['count', s.url, JSON.stringify({ orgs, rounds })]));
    await waitFor(() => children.every((c) => c.lines.length > 0), { timeoutMs: 60_000, description: 'every child to finish' });
    const summaries = children.map((c) => JSON.parse(c.lines[0]!) as { refused: number });
    expect(summaries.map((x) => x.refused)).toEqual([0, 0, 0, 0]);
    const c = client(s);
    for (const org of orgs) expect(Number(await c.get(`counter:${org}`))).toBe(4 * rounds);
  }, 90_000);

  it('a stale holder (lease lost) cannot write past a newer holder in a fenced store', async () => {
    const s = await server();
    const c = client(s);
    const store = new FencedStore(c);
    const a = lock({ clients: c, ttlMs: 300, autoExtend: false });
    const b = lock({ clients: c, ttlMs: 5_000 });
    const scope = freshScope('stale');
    let newer: number | undefined;
    let staleWrite: FencedWrite | undefined;
    const aRun = a
      .withLock(scope, async (ctx) => {
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
        // B acquires now (the lease expired); A, unaware in real life, writes late:
        await waitFor(() => newer !== undefined, { timeoutMs: 3_000 });
        staleWrite = await store.write('doc', ctx.fencingToken, 'from A (stale)');
      })
      .catch((e: unknown) => e);
    await pause(20);
    await b.withLock(scope, async (ctx) => {
      await store.write('doc', ctx.fencingToken, 'from B');
      newer = ctx.fencingToken;
    }, { acquireTimeoutMs: 3_000 });
    expect(await aRun).toBeInstanceOf(LockLostError);
    expect(staleWrite?.accepted).toBe(false);
    expect((await store.acceptedLog(['doc'])).get('doc')).toEqual([newer]);
  });
});
