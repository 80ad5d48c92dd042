import { startRedis } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import type { StoredMemory } from '../src/memory-store.js';
import type { Digest } from '../src/memory-digest-processor.js';
import { spawnHost, startApi, testEnv, waitForCompleted } from './helpers.js';

const ORGS = ['acme', 'globex'];
const text = (org: string, ws: number, t: number) =>
  `The ${org} team ships release ${ws}.${t} this week. Staging runs on the new cluster. Who reviews it?`;

describe('API + a worker process', () => {
  it('turns become fenced memories and digests; the org lock never has two holders', { timeout: 40_000 }, async () => {
    await using server = await startRedis();
    const env = testEnv(server.url, { EXTRACTION_CONCURRENCY: '4', DIGEST_DEBOUNCE_MS: '300' });
    await using api = await startApi(env);
    await using worker = spawnHost('worker', { ...env, WORKER_NAME: 'w1' });
    await worker.ready;

    // 2 orgs x 2 workstreams x 6 turns, all at once: jobs of one org contend for its lock.
    const posts = [];
    for (const orgId of ORGS) {
      for (let ws = 1; ws <= 2; ws++) {
        for (let t = 1; t <= 6; t++) {
          posts.push(api.app.inject({ method: 'POST', url: '/turns', payload: { orgId, workstreamId: `ws-${ws}`, turnId: `t-${t}`, text: text(orgId, ws, t) } }));
        }
      }
    }
    const responses = await Promise.all(posts);
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 202));

    await waitForCompleted(api.host, 'memory-extraction', 24);
    await waitForCompleted(api.host, 'memory-digest', 4); // one debounced run per workstream

    const res = await api.app.inject({ method: 'GET', url: '/orgs/acme/memories' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ count: number; memories: StoredMemory[]; digests: Digest[] }>();
    // Per org: 12 release facts + the shared staging fact once (questions are not facts).
    expect(body.count).toBe(13);
    expect(body.memories.map((m) => m.text)).toContain('The acme team ships release 2.6 this week.');
    expect(body.memories.filter((m) => m.text === 'Staging runs on the new cluster.')).toHaveLength(1);
    expect(body.memories.every((m) => m.dimensions === 64 && m.fencingToken >= 1)).toBe(true);
    expect(body.digests.map((d) => [d.workstreamId, d.turns])).toEqual([
      ['ws-1', 6],
      ['ws-2', 6],
    ]);

    const stats = await api.host.stats.snapshot();
    expect(stats.maxHolders).toEqual({ acme: 1, globex: 1 });
    expect(stats.jobs['memory-extraction']).toEqual({ completed: 24, retried: 0, failed: 0 });
    expect(stats.lockWaitCount).toBe(24);
    expect(stats.store.refused).toBe(0);
    // The staging fact was embedded once and then served by the cache.
    expect(stats.cache.hits).toBeGreaterThan(0);
    expect(stats.provider.texts).toBe(stats.cache.misses);

    // The fence: a writer with the token of an earlier acquisition is refused, and writes nothing.
    const last = await api.host.store.lastAcceptedToken('acme');
    expect(last).toBeGreaterThanOrEqual(12);
    const stale = await api.host.store.write('acme', last - 1, [{ id: 'zombie', text: 'stale', workstreamId: 'ws-1', turnId: 'x', embedding: [1] }]);
    expect(stale).toEqual({ accepted: false, lastAcceptedToken: last, fencingToken: last - 1 });
    expect(await api.host.store.count('acme')).toBe(13);

    const metrics = (await api.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('lota_jobs_total{queue="memory-extraction",outcome="completed"} 24');
    expect(metrics).toContain('lota_org_lock_wait_seconds_count 24');
    expect(metrics).toContain('lota_org_lock_max_holders 1');
    expect(metrics).toContain('lota_memory_store_writes_total{result="refused"} 1');
    expect(metrics).toContain('lota_workers_alive 1');
    expect(metrics).toMatch(/lota_embedding_cache_texts_total\{result="hit"\} [1-9]/);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
