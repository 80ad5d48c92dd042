import { fileURLToPath } from 'node:url';
import { startRedis, waitFor } from '@lota/redis-testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { checkExits, FencedStore, Fleet, History, nowUs } from '../src/index.js';

const script = fileURLToPath(new URL('./fixtures/proc.mjs', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fleet(): { history: History; fleet: Fleet } {
  const history = new History();
  const f = new Fleet(history);
  cleanups.push(() => f.killAll());
  return { history, fleet: f };
}

describe('fleet', () => {
  it('splits history, messages and output; one clock for every process; a stop request ends in a clean exit', async () => {
    const { history, fleet: f } = fleet();
    const before = nowUs();
    const p = f.start({ name: 'p1', script, args: ['p1'] });
    const ready = await p.message((m) => m.event === 'ready', 10_000);
    const after = nowUs();
    expect(ready.pid).toBe(p.pid);
    const section = history.of('section')[0];
    expect(section?.proc).toBe('p1');
    // The child's clock reading lies between the parent's readings: one monotonic clock.
    expect(section!.t).toBeGreaterThan(before);
    expect(section!.t).toBeLessThan(after);
    expect(history.of('effect')[0]?.live).toBe(true);
    p.requestStop(2_000);
    await p.exited;
    expect(history.of('exit')).toEqual([expect.objectContaining({ proc: 'p1', code: 0, signal: null, expected: 'self', boundMs: 2_000 })]);
    expect(history.of('section-end')).toHaveLength(1);
    expect(checkExits(history)).toEqual([]);
  });

  it('SIGSTOP and SIGCONT are recorded as a stall; a blocked loop is recorded by the process itself', async () => {
    const { history, fleet: f } = fleet();
    const p = f.start({ name: 'p2', script, args: ['p2'] });
    await p.message((m) => m.event === 'ready', 10_000);
    p.pause();
    expect(p.paused).toBe(true);
    // Timers may fire a little early against the monotonic clock: sleep longer than asserted.
    await new Promise((r) => setTimeout(r, 110));
    p.cont();
    p.send('block 160');
    await p.message((m) => m.event === 'blocked', 5_000);
    const stalls = history.of('stall');
    expect(stalls.map((s) => s.kind).sort()).toEqual(['block', 'stop']);
    const stop = stalls.find((s) => s.kind === 'stop')!;
    expect(stop.t1 - stop.t0).toBeGreaterThanOrEqual(100_000);
    const block = stalls.find((s) => s.kind === 'block')!;
    expect(block.t1 - block.t0).toBeGreaterThanOrEqual(150_000);
    expect(history.stalled('p2', stop.t0 + 1, stop.t0 + 2)).toBe(true);
  });

  it('a kill is an expected death; a process that exits with an error code after a stop request is caught', async () => {
    const { history, fleet: f } = fleet();
    const a = f.start({ name: 'a', script, args: ['a'] });
    const b = f.start({ name: 'b', script, args: ['b'] });
    await Promise.all([a.message((m) => m.event === 'ready', 10_000), b.message((m) => m.event === 'ready', 10_000)]);
    a.pause();
    a.kill(); // killed while stopped: the stall ends with the process
    b.requestStop(2_000);
    b.send('crash'); // ignored: stop came first
    await Promise.all([a.exited, b.exited]);
    expect(history.of('exit').find((e) => e.proc === 'a')).toMatchObject({ expected: 'killed', signal: 'SIGKILL' });
    expect(history.of('stall').find((s) => s.proc === 'a')).toBeDefined();
    const c = f.start({ name: 'c', script, args: ['c'] });
    await c.message((m) => m.event === 'ready', 10_000);
    c.send('crash');
    await c.exited;
    expect(checkExits(history).map((v) => v.message)).toEqual(['c exited by itself with code 3, signal null']);
  });
});

describe('fenced store', () => {
  it('refuses a smaller token, logs accepted ones in order, and survives the lock Redis (it lives elsewhere)', async () => {
    const server = await startRedis();
    cleanups.push(() => server.dispose());
    const redis = new Redis(server.url);
    cleanups.push(() => redis.disconnect());
    await waitFor(() => redis.status === 'ready');
    const store = new FencedStore(redis, 'f');
    expect(await store.write('org:a', 1_796_000_000_000_001, 'v1')).toEqual({ accepted: true, last: -1 });
    expect(await store.write('org:a', 1_796_000_000_000_001, 'v1 again')).toMatchObject({ accepted: true });
    expect(await store.write('org:a', 5, 'stale')).toEqual({ accepted: false, last: 1_796_000_000_000_001 });
    expect(await store.write('org:a', 1_796_000_000_000_002, 'v2')).toMatchObject({ accepted: true });
    expect(await redis.get('f:{org:a}:value')).toBe('v2');
    const log = await store.acceptedLog(['org:a', 'org:none']);
    expect(log.get('org:a')).toEqual([1_796_000_000_000_001, 1_796_000_000_000_001, 1_796_000_000_000_002]);
    expect(log.get('org:none')).toEqual([]);
  });
});
