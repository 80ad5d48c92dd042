import { waitFor } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { encodeKeyParts } from '../src/index.js';
import { forEachTopology } from './helpers.js';

describe('encodeKeyParts', () => {
  it('never maps distinct tuples to the same key', () => {
    expect(encodeKeyParts(['a:b', 'c'])).not.toBe(encodeKeyParts(['a', 'b:c']));
    expect(encodeKeyParts(['a%3Ab', 'c'])).not.toBe(encodeKeyParts(['a:b', 'c']));
    expect(encodeKeyParts(['', 'x'])).not.toBe(encodeKeyParts(['x', '']));
    expect(encodeKeyParts(['org 1', 'ws/2', 'turn:3'])).toBe('org%201:ws%2F2:turn%3A3');
  });
});

forEachTopology('deduplication', (ctx) => {
  it('drops a duplicate while the first job is waiting; the same key runs again after completion', async () => {
    const q = ctx.queues();
    const turn = { orgId: 'org-1', workstreamId: 'ws-1', turnId: 't-1' };
    const first = await q.enqueueMemoryExtraction({ ...turn, text: 'first' });
    const dup = await q.enqueueMemoryExtraction({ ...turn, text: 'second' });
    expect(first.status).toBe('added');
    expect(dup).toEqual({ jobId: first.jobId, status: 'deduplicated' });
    expect(await q.getQueue('memory-extraction').getWaitingCount()).toBe(1);

    const seen: string[] = [];
    const w = q.registerWorker({ queue: 'memory-extraction', processor: async (job) => void seen.push(job.data.text as string) });
    await waitFor(async () => (await q.getQueue('memory-extraction').getCompletedCount()) === 1, { description: 'the first job to complete' });
    expect(seen).toEqual(['first']);

    const again = await q.enqueueMemoryExtraction({ ...turn, text: 'third' });
    expect(again.status).toBe('added');
    expect(again.jobId).not.toBe(first.jobId);
    await waitFor(() => seen.length === 2, { description: 'the re-run' });
    expect(seen).toEqual(['first', 'third']);
    await w.close();
  });

  it('drops a duplicate while the first job is delayed (retry backoff) and while it is active', async () => {
    const q = ctx.queues({ policies: { 'context-compaction': { backoffDelayMs: 400, maxRetries: 1 } } });
    const key = { orgId: 'org-1', workstreamId: 'ws-1' };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let runs = 0;
    const w = q.registerWorker({
      queue: 'context-compaction',
      processor: async () => {
        runs++;
        if (runs === 1) throw new Error('first attempt fails');
        await gate;
      },
    });
    const first = await q.enqueueContextCompaction(key);
    const queue = q.getQueue('context-compaction');
    await waitFor(async () => (await queue.getDelayedCount()) === 1, { description: 'the job to wait in backoff (delayed)' });
    expect(await q.enqueueContextCompaction(key)).toEqual({ jobId: first.jobId, status: 'deduplicated' });
    await waitFor(async () => (await queue.getActiveCount()) === 1, { description: 'the retry to be active' });
    expect(await q.enqueueContextCompaction(key)).toEqual({ jobId: first.jobId, status: 'deduplicated' });
    release();
    await waitFor(async () => (await queue.getCompletedCount()) === 1, { description: 'completion' });
    expect(runs).toBe(2);
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 0, active: 0 });
    await w.close();
  });

  it('a key whose job failed for good can run again', async () => {
    const q = ctx.queues({ policies: { 'memory-extraction': { maxRetries: 0 } } });
    const turn = { orgId: 'o', workstreamId: 'w', turnId: 't' };
    const w = q.registerWorker({ queue: 'memory-extraction', processor: async (job) => { if (job.data.fail) throw new Error('boom'); } });
    await q.enqueueMemoryExtraction({ ...turn, fail: true });
    await waitFor(async () => (await q.getQueue('memory-extraction').getFailedCount()) === 1, { description: 'the final failure' });
    const again = await q.enqueueMemoryExtraction({ ...turn, fail: false });
    expect(again.status).toBe('added');
    await waitFor(async () => (await q.getQueue('memory-extraction').getCompletedCount()) === 1, { description: 'the re-run to complete' });
    await w.close();
  });

  it('tuples that differ only in where a ":" sits are different jobs', async () => {
    const q = ctx.queues();
    const a = await q.enqueueMemoryExtraction({ orgId: 'a:b', workstreamId: 'c', turnId: 't' });
    const b = await q.enqueueMemoryExtraction({ orgId: 'a', workstreamId: 'b:c', turnId: 't' });
    expect(a.status).toBe('added');
    expect(b.status).toBe('added');
    expect(b.jobId).not.toBe(a.jobId);
    const ga = await q.enqueue('memory-extraction', { orgId: 'x' }, { dedupeKey: ['a:b', 'c'] });
    const gb = await q.enqueue('memory-extraction', { orgId: 'x' }, { dedupeKey: ['a', 'b:c'] });
    expect(gb.jobId).not.toBe(ga.jobId);
    expect((await q.enqueue('memory-extraction', { orgId: 'x' }, { dedupeKey: ['a', 'b:c'] })).status).toBe('deduplicated');
  });

  it('different orgs and workstreams never dedupe each other', async () => {
    const q = ctx.queues();
    const results = await Promise.all(
      ['o1', 'o2'].flatMap((orgId) => ['w1', 'w2'].map((workstreamId) => q.enqueueContextCompaction({ orgId, workstreamId }))),
    );
    expect(results.map((r) => r.status)).toEqual(['added', 'added', 'added', 'added']);
    expect(new Set(results.map((r) => r.jobId)).size).toBe(4);
  });

  it('concurrent duplicates: exactly one is added', async () => {
    const q = ctx.queues();
    const results = await Promise.all(Array.from({ length: 20 }, () => q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 'same' })));
    expect(results.filter((r) => r.status === 'added')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'deduplicated')).toHaveLength(19);
    expect(new Set(results.map((r) => r.jobId)).size).toBe(1);
  });
});

forEachTopology('enqueueBulk', (ctx) => {
  it('adds many in one call, deduplicates per item, and refuses the whole batch on one bad item', async () => {
    const q = ctx.queues();
    const first = await q.enqueueBulk('memory-extraction', [
      { data: { orgId: 'o', n: 1 }, opts: { dedupeKey: ['o', 'a'] } },
      { data: { orgId: 'o', n: 2 }, opts: { dedupeKey: ['o', 'b'] } },
      { data: { orgId: 'o', n: 3 } },
    ]);
    expect(first.map((r) => r.status)).toEqual(['added', 'added', 'added']);
    const second = await q.enqueueBulk('memory-extraction', [
      { data: { orgId: 'o', n: 4 }, opts: { dedupeKey: ['o', 'a'] } },
      { data: { orgId: 'o', n: 5 }, opts: { dedupeKey: ['o', 'c'] } },
    ]);
    expect(second).toEqual([
      { jobId: first[0]!.jobId, status: 'deduplicated' },
      { jobId: second[1]!.jobId, status: 'added' },
    ]);
    const before = await q.getQueue('memory-extraction').getWaitingCount();
    await expect(q.enqueueBulk('memory-extraction', [{ data: { orgId: 'o' } }, { data: { orgId: '' } }])).rejects.toThrow(/data\.orgId/);
    expect(await q.getQueue('memory-extraction').getWaitingCount()).toBe(before);
    expect(await q.enqueueBulk('memory-extraction', [])).toEqual([]);
  });
});
