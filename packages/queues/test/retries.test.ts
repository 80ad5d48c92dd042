import { waitFor } from '@lota/redis-testkit';
import { expect, it } from 'vitest';
import { UnrecoverableError } from '../src/index.js';
import { forEachTopology } from './helpers.js';

const BASE = 80;

forEachTopology('retries and backoff', (ctx) => {
  for (const [queue, runs] of [
    ['memory-extraction', 4],
    ['context-compaction', 3],
  ] as const) {
    it(`an always-failing ${queue} job runs ${runs} times (max retries ${runs - 1}), with exponentially growing gaps, then stays inspectable`, async () => {
      const q = ctx.queues({ policies: { [queue]: { backoffDelayMs: BASE } } });
      const starts: number[] = [];
      const w = q.registerWorker({
        queue,
        processor: async () => {
          starts.push(Date.now());
          throw new Error(`boom #${starts.length}`);
        },
      });
      const data = { orgId: 'o', workstreamId: 'w', turnId: 't' };
      const { jobId } = queue === 'memory-extraction' ? await q.enqueueMemoryExtraction(data) : await q.enqueueContextCompaction(data);
      const bull = q.getQueue(queue);
      await waitFor(async () => (await bull.getFailedCount()) === 1, { description: 'the final failure' });
      expect(starts).toHaveLength(runs);
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      gaps.forEach((gap, i) => {
        // Re-run k waits BASE * 2^(k-1): 80, 160, 320 ms.
        expect(gap).toBeGreaterThanOrEqual(BASE * 2 ** i - 15);
      });
      for (let i = 1; i < gaps.length; i++) expect(gaps[i]! / gaps[i - 1]!).toBeGreaterThan(1.5);

      const job = await bull.getJob(jobId);
      expect(await job?.getState()).toBe('failed');
      expect(job?.attemptsMade).toBe(runs);
      expect(job?.failedReason).toBe(`boom #${runs}`);
      expect(job?.stacktrace?.length).toBeGreaterThan(0);
      expect(q.logs.lines.some((l) => l.level === 'error' && /failed for good/.test(l.message) && l.fields.jobId === jobId)).toBe(true);
      expect(q.logs.lines.filter((l) => l.level === 'warn' && /will be retried/.test(l.message))).toHaveLength(runs - 1);
      await w.close();
    });
  }

  it('UnrecoverableError fails a job at once, and it is logged as failed for good', async () => {
    const q = ctx.queues();
    let runs = 0;
    const w = q.registerWorker({
      queue: 'memory-extraction',
      processor: async () => {
        runs++;
        throw new UnrecoverableError('bad input, do not retry');
      },
    });
    const { jobId } = await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 'u' });
    await waitFor(async () => (await q.getQueue('memory-extraction').getFailedCount()) === 1, { description: 'the failure' });
    expect(runs).toBe(1);
    expect(q.logs.lines.some((l) => l.level === 'error' && /failed for good/.test(l.message) && l.fields.jobId === jobId)).toBe(true);
    expect(q.logs.lines.some((l) => /will be retried/.test(l.message))).toBe(false);
    await w.close();
  });

  it('a job that fails then succeeds completes once, and per-host overrides change the attempts', async () => {
    const q = ctx.queues({ policies: { 'repo-indexing': { maxRetries: 5, backoffDelayMs: 10 } } });
    let calls = 0;
    const w = q.registerWorker({
      queue: 'repo-indexing',
      processor: async () => {
        calls++;
        if (calls < 3) throw new Error('transient');
        return 'ok';
      },
    });
    const { jobId } = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    const bull = q.getQueue('repo-indexing');
    await waitFor(async () => (await bull.getCompletedCount()) === 1, { description: 'completion' });
    const job = await bull.getJob(jobId);
    expect(job?.opts.attempts).toBe(6);
    expect(job?.returnvalue).toBe('ok');
    expect(calls).toBe(3);
    await w.close();
  });
});
