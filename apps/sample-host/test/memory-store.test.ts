import { startRedis } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { hashVector } from '../src/embedding-provider.js';
import { extractMemories } from '../src/extract-memories.js';
import { startHost, testEnv } from './helpers.js';

const memory = (id: string, text = `fact ${id}`) => ({ id, text, workstreamId: 'ws', turnId: 't', embedding: [0.1, 0.2] });

describe('FencedMemoryStore', () => {
  it('accepts a newer or equal fencing token and refuses an older one, writing nothing', async () => {
    await using server = await startRedis();
    await using host = await startHost(testEnv(server.url));
    const { store } = host;

    expect(await store.write('acme', 5, [memory('a')])).toEqual({ accepted: true, added: 1, fencingToken: 5 });
    expect(await store.write('acme', 5, [memory('b')])).toEqual({ accepted: true, added: 1, fencingToken: 5 }); // same holder, second write
    expect(await store.write('acme', 7, [memory('c')])).toEqual({ accepted: true, added: 1, fencingToken: 7 });
    // A holder from an earlier acquisition (paused past its lease) wakes up and writes:
    expect(await store.write('acme', 6, [memory('stale')])).toEqual({ accepted: false, lastAcceptedToken: 7, fencingToken: 6 });
    expect(await store.lastAcceptedToken('acme')).toBe(7);
    expect((await store.list('acme')).map((m) => m.id)).toEqual(['a', 'b', 'c']);

    // Orgs are fenced independently.
    expect(await store.write('globex', 1, [memory('g')])).toMatchObject({ accepted: true });

    const stats = await host.stats.snapshot();
    expect(stats.store).toEqual({ accepted: 4, refused: 1, added: 4 });
  });

  it('is idempotent: a fact already stored keeps its first source and is not added again', async () => {
    await using server = await startRedis();
    await using host = await startHost(testEnv(server.url));
    const { store } = host;
    await store.write('acme', 1, [memory('a', 'first')]);
    expect(await store.write('acme', 2, [memory('a', 'second'), memory('b')])).toEqual({ accepted: true, added: 1, fencingToken: 2 });
    const list = await store.list('acme');
    expect(list.map((m) => [m.id, m.text, m.fencingToken])).toEqual([
      ['a', 'first', 1],
      ['b', 'fact b', 2],
    ]);
    expect(list[0]).not.toHaveProperty('embedding');
    expect(list[0]?.dimensions).toBe(2);
  });
});

describe('HostStats lock holders', () => {
  it('records the most holders seen at once, so an overlap would show up', async () => {
    await using server = await startRedis();
    await using host = await startHost(testEnv(server.url));
    const { stats } = host;
    await stats.enterLock('acme', '1', 30_000);
    await stats.leaveLock('acme', '1');
    await stats.enterLock('acme', '2', 30_000);
    await stats.enterLock('acme', '3', 30_000); // two "holders" at once: what the lock must never allow
    await stats.leaveLock('acme', '2');
    await stats.leaveLock('acme', '3');
    await stats.enterLock('globex', '1', 30_000);
    await stats.leaveLock('globex', '1');
    // A holder that died inside the lock never leaves; once its lease is over it no longer counts.
    await stats.enterLock('initech', 'dead', 50);
    await new Promise((r) => setTimeout(r, 80));
    await stats.enterLock('initech', 'next', 30_000);
    await stats.leaveLock('initech', 'next');
    expect((await stats.snapshot()).maxHolders).toEqual({ acme: 2, globex: 1, initech: 1 });
  });
});

describe('extractMemories and the local embedding provider', () => {
  it('takes each statement of three words or more, once; skips questions', () => {
    const memories = extractMemories('The deploy freeze starts Friday. Ok. Can you check? The deploy freeze starts Friday!\nMaria owns billing now.');
    expect(memories.map((m) => m.text)).toEqual(['The deploy freeze starts Friday.', 'Maria owns billing now.']);
    expect(extractMemories('the DEPLOY freeze starts friday')[0]?.id).toBe(memories[0]?.id); // same fact, same id
  });

  it('gives every text the same unit vector in every process', () => {
    const v = hashVector('hello world', 64);
    expect(v).toHaveLength(64);
    expect(Math.hypot(...v)).toBeCloseTo(1, 10);
    expect(hashVector('hello world', 64)).toEqual(v);
    expect(hashVector('hello worlds', 64)).not.toEqual(v);
  });
});
