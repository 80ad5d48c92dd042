import { waitFor } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { defineLockAdapterConformance } from '../src/conformance.js';
import {
  createOrgMemoryLock,
  createRedisLock,
  InvalidArgumentError,
  LockClosedError,
  ConfigError,
  LockTimeoutError,
} from '../src/index.js';
import { releaseChannel, scopeKeys } from '../src/keys.js';
import { forEachTopology, freshScope, pause } from './helpers.js';

forEachTopology('redis lock', (t) => {
  defineLockAdapterConformance({ name: `RedisLock (${t.name})`, adapter: () => t.lock() }, { describe, it, expect });

  it('bad input is a typed error before any Redis call', async () => {
    const lock = t.lock();
    const mem = createOrgMemoryLock(lock);
    // Count EVALSHA calls on every node (a Cluster answers INFO from one random node).
    const evalshaCalls = async (): Promise<number> => {
      const nodes = 'nodes' in t.client ? t.client.nodes('master') : [t.client];
      const infos = await Promise.all(nodes.map((n) => n.info('commandstats')));
      return infos.reduce((sum, s) => sum + Number(/cmdstat_evalsha:calls=(\d+)/.exec(s)?.[1] ?? '0'), 0);
    };
    const before = await evalshaCalls();
    await expect(mem.withOrgMemoryLock('', async () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(mem.withOrgMemoryLock(42 as unknown as string, async () => 1)).rejects.toThrow(/orgId must be a non-empty string/);
    await expect(mem.withWorkspaceMemoryLock('  ', async () => 1)).rejects.toThrow(/workspaceId/);
    await expect(lock.withLock('', async () => 1)).rejects.toThrow(/scope must be a non-empty string/);
    await expect(lock.withLock('x', async () => 1, { ttlMs: 0 })).rejects.toThrow(/ttlMs must be a whole number of milliseconds from 10 to 2147483647, got 0/);
    await expect(lock.withLock('x', async () => 1, { ttlMs: -5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(lock.withLock('x', async () => 1, { acquireTimeoutMs: -1 })).rejects.toThrow(/acquireTimeoutMs/);
    await expect(lock.withLock('x', 'not a function' as never)).rejects.toThrow(/fn must be/);
    expect(() => createRedisLock({ clients: t.client, ttlMs: 0 })).toThrow(ConfigError);
    expect(() => createRedisLock({ clients: [] })).toThrow(/clients: must be/);
    expect(() => createRedisLock({ clients: t.client, ttl: 5 } as never)).toThrow(/ttl: unknown option/);
    expect(() => createOrgMemoryLock({} as never)).toThrow(/withLock/);
    // Only the INFO calls above reached Redis: no EVALSHA.
    expect(await evalshaCalls()).toBe(before);
  });

  it('keys are namespaced and hash-tagged; braces in a scope cannot escape the tag', () => {
    expect(scopeKeys('lota', 'org:acme').owner).toBe('lota:lock:{org:acme}:owner');
    expect(scopeKeys('lota', 'a}b{c').owner).toBe('lota:lock:{a%7Db%7Bc}:owner');
    expect(scopeKeys('lota', 'a%7Db').tag).not.toBe(scopeKeys('lota', 'a}b').tag);
  });

  it('a waiter times out with LockTimeoutError after acquireTimeoutMs, and fn never runs', async () => {
    const lock = t.lock();
    const s = freshScope();
    let release!: () => void;
    const holding = lock.withLock(s, () => new Promise<void>((r) => (release = r)));
    await pause(20);
    let ran = false;
    const t0 = performance.now();
    const err = await t
      .lock()
      .withLock(s, async () => void (ran = true), { acquireTimeoutMs: 300 })
      .catch((e: unknown) => e);
    const waited = performance.now() - t0;
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).code).toBe('LOCK_TIMEOUT');
    expect((err as Error).message).toMatch(/within 300 ms \(acquireTimeoutMs\)/);
    expect(waited).toBeGreaterThanOrEqual(295);
    expect(waited).toBeLessThan(600);
    expect(ran).toBe(false);
    release();
    await holding;
  });

  it('a waiter in another process (another lock instance) is woken promptly on release, not at lease expiry', async () => {
    const a = t.lock();
    const b = t.lock();
    const s = freshScope();
    let release!: () => void;
    const holding = a.withLock(s, () => new Promise<void>((r) => (release = r)), { ttlMs: 30_000 });
    await pause(20);
    const waiting = b.withLock(s, async () => performance.now(), { acquireTimeoutMs: 10_000 });
    await pause(100); // b is now waiting on pub/sub
    const releasedAt = performance.now();
    release();
    await holding;
    const gotAt = await waiting;
    expect(gotAt - releasedAt).toBeLessThan(50);
  });

  it('in-process waiters are served first come, first served', async () => {
    const lock = t.lock();
    const s = freshScope();
    const order: number[] = [];
    let release!: () => void;
    const first = lock.withLock(s, () => new Promise<void>((r) => (release = r)));
    await pause(10);
    const rest = Array.from({ length: 8 }, (_, i) => lock.withLock(s, async () => void order.push(i)));
    release();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('in-process waiters are handed the lock by the release script itself: one Redis call per hand-off', async () => {
    const evalshaCalls = async (): Promise<number> => {
      const nodes = 'nodes' in t.client ? t.client.nodes('master') : [t.client];
      const infos = await Promise.all(nodes.map((n) => n.info('commandstats')));
      return infos.reduce((sum, s) => sum + Number(/cmdstat_evalsha:calls=(\d+)/.exec(s)?.[1] ?? '0'), 0);
    };
    const lock = t.lock();
    const s = freshScope('handoff');
    await lock.withLock(s, async () => undefined); // load the scripts
    const before = await evalshaCalls();
    const tokens: number[] = [];
    await Promise.all(Array.from({ length: 20 }, () => lock.withLock(s, async (ctx) => void tokens.push(ctx.fencingToken))));
    const calls = (await evalshaCalls()) - before;
    // 1 acquire + 20 releases (19 of which hand over): no waiter ever polls.
    expect(calls).toBe(21);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });

  it('waiters in two processes alternate instead of one starving the other', async () => {
    const a = t.lock();
    const b = t.lock();
    const s = freshScope();
    const owners: string[] = [];
    const run = (lock: typeof a, who: string): Promise<void[]> =>
      Promise.all(
        Array.from({ length: 10 }, () =>
          lock.withLock(s, async () => {
            owners.push(who);
            await pause(2);
          }),
        ),
      );
    await Promise.all([run(a, 'a'), run(b, 'b')]);
    expect(owners.filter((o) => o === 'a')).toHaveLength(10);
    // Handing the lock back and forth: a process keeps it for at most 4 sections in a row while the other waits.
    const firstDone = Math.min(owners.lastIndexOf('a'), owners.lastIndexOf('b'));
    let run1 = 1;
    let longest = 1;
    for (let i = 1; i <= firstDone; i++) {
      run1 = owners[i] === owners[i - 1] ? run1 + 1 : 1;
      longest = Math.max(longest, run1);
    }
    expect(longest).toBeLessThanOrEqual(4);
  });

  it('different orgs never wait on each other', async () => {
    const mem = createOrgMemoryLock(t.lock());
    let release!: () => void;
    const held = mem.withOrgMemoryLock('org-a', () => new Promise<void>((r) => (release = r)));
    await pause(10);
    const t0 = performance.now();
    await mem.withOrgMemoryLock('org-b', async () => undefined, { acquireTimeoutMs: 1_000 });
    await mem.withWorkspaceMemoryLock('org-a', async () => undefined, { acquireTimeoutMs: 1_000 }); // a workspace is another scope
    expect(performance.now() - t0).toBeLessThan(200);
    release();
    await held;
  });

  it('fencing tokens strictly increase across lock instances (processes)', async () => {
    const s = freshScope();
    const locks = [t.lock(), t.lock(), t.lock()];
    const tokens: number[] = [];
    await Promise.all(
      locks.flatMap((l) => Array.from({ length: 10 }, () => l.withLock(s, async (ctx) => void tokens.push(ctx.fencingToken)))),
    );
    expect(tokens).toHaveLength(30);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });

  it('a grant message that arrives after its holder already has the lock never releases it (regression)', async () => {
    const lock = t.lock();
    const other = t.lock();
    const s = freshScope('late-grant');
    const keys = scopeKeys('lota', s);
    let release!: () => void;
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const held = lock.withLock(s, async () => {
      inside();
      await new Promise<void>((r) => (release = r));
    });
    await entered;
    await other.withLock(freshScope('subscribe'), async () => undefined); // make sure `lock`'s instance is not the only one
    // The holder's token, as a release script would announce it to a waiter that already acquired:
    const token = (await t.client.get(keys.owner))!;
    const listener = (lock as unknown as { listener: { ensureSubscribed(): void; subscribedAt: number | undefined } }).listener;
    listener.ensureSubscribed();
    await waitFor(() => listener.subscribedAt !== undefined, { description: 'the release subscription' });
    await t.client.publish(releaseChannel('lota'), `someone-else g ${token} 99 ${keys.tag}`);
    // A late grant for a live holder must be ignored: the lock stays held (the bug released it).
    await pause(100);
    expect(await t.client.get(keys.owner)).toBe(token);
    await expect(other.withLock(s, async () => 'stolen', { acquireTimeoutMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
    release();
    await held;
  });

  it('close() refuses new calls', async () => {
    const lock = t.lock();
    await lock.close();
    await expect(lock.withLock('x', async () => 1)).rejects.toBeInstanceOf(LockClosedError);
  });
});
