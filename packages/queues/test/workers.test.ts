import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@lota/redis-testkit';
import { expect, it } from 'vitest';
import { runChunked, type ChunkProgress } from '../src/index.js';
import { concurrencyProbe, forEachTopology } from './helpers.js';

forEachTopology('workers', (ctx) => {
  for (const limit of [1, 3, 7]) {
    it(`concurrency ${limit}: the measured maximum of simultaneously active jobs is exactly ${limit}`, async () => {
      const q = ctx.queues();
      const probe = concurrencyProbe();
      const w = q.registerWorker({
        queue: 'memory-extraction',
        concurrency: limit,
        processor: async () => {
          probe.enter();
          await sleep(60);
          probe.exit();
        },
      });
      await Promise.all(Array.from({ length: limit * 4 }, (_, i) => q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: `t${i}` })));
      await waitFor(async () => (await q.getQueue('memory-extraction').getCompletedCount()) === limit * 4, { description: 'all jobs' });
      expect(probe.max).toBe(limit);
      expect(w.concurrency).toBe(limit);
      await w.close();
    });
  }

  it('uses the policy concurrency when none is given, and host queues get workers too', async () => {
    const q = ctx.queues({ policies: { 'custom-queue': { concurrency: 4 } } });
    const probe = concurrencyProbe();
    const w = q.registerWorker({ queue: 'custom-queue', processor: async () => { probe.enter(); await sleep(50); probe.exit(); } });
    expect(w.concurrency).toBe(4);
    await Promise.all(Array.from({ length: 12 }, () => q.enqueue('custom-queue', { orgId: 'o' })));
    await waitFor(async () => (await q.getQueue('custom-queue').getCompletedCount()) === 12, { description: 'all jobs' });
    expect(probe.max).toBe(4);
    expect(q.registerWorker({ queue: 'memory-extraction', processor: async () => undefined }).concurrency).toBe(5);
  });

  it('23: a second worker for the same queue is refused (WORKER_EXISTS, naming the queue and the fix); closing the first frees the queue', async () => {
    const q = ctx.queues();
    const probe = concurrencyProbe();
    const processor = async () => {
      probe.enter();
      await sleep(50);
      probe.exit();
    };
    const first = q.registerWorker({ queue: 'repo-indexing', processor });
    let err: unknown;
    try {
      q.registerWorker({ queue: 'repo-indexing', processor });
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string } | undefined)?.code).toBe('WORKER_EXISTS');
    expect((err as Error).name).toBe('WorkerExistsError');
    expect((err as Error).message).toMatch(/registerWorker\('repo-indexing'\) refused.*concurrency 1.*policies\['repo-indexing'\]\.concurrency.*close\(\)/);
    expect(q.workers).toHaveLength(1);
    await Promise.all(Array.from({ length: 4 }, (_, i) => q.enqueueRepoIndexing({ orgId: 'o', repoId: `r${i}` })));
    await waitFor(async () => (await q.getQueue('repo-indexing').getCompletedCount()) === 4, { description: 'all jobs' });
    expect(probe.max).toBe(1); // the policy's concurrency, not doubled
    await first.close();
    const again = q.registerWorker({ queue: 'repo-indexing', processor });
    expect(q.workers).toEqual([again]);
  });

  it('a processor that throws non-Errors or rejects is logged, never crashes the process', async () => {
    const q = ctx.queues({ policies: { 'memory-extraction': { maxRetries: 0 } } });
    const w = q.registerWorker({
      queue: 'memory-extraction',
      processor: async (job) => {
        if (job.data.kind === 'string') throw 'plain string'; // eslint-disable-line @typescript-eslint/only-throw-error
        throw new TypeError('typed');
      },
    });
    await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: '1', kind: 'string' });
    await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: '2', kind: 'type' });
    await waitFor(async () => (await q.getQueue('memory-extraction').getFailedCount()) === 2, { description: 'both failures' });
    expect(w.worker.isRunning()).toBe(true);
    expect(q.logs.lines.filter((l) => /failed for good/.test(l.message))).toHaveLength(2);
  });

  it('close({ timeoutMs }) lets active jobs finish, and no new job starts after it begins', async () => {
    const q = ctx.queues();
    const done: string[] = [];
    const started: string[] = [];
    q.registerWorker({
      queue: 'memory-extraction',
      concurrency: 2,
      processor: async (job) => {
        started.push(job.data.turnId as string);
        await sleep(300);
        done.push(job.data.turnId as string);
      },
    });
    for (const t of ['a', 'b', 'c', 'd']) await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: t });
    await waitFor(() => started.length === 2, { description: 'two active jobs' });
    const t0 = Date.now();
    await q.close({ timeoutMs: 5_000 });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(done.sort()).toEqual([...started].sort());
    expect(started).toHaveLength(2);
  });

  it('close() resolves within its timeout when a job runs longer; the job is then recovered as stalled by another worker', async () => {
    const q = ctx.queues();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstStarted = false;
    let aborted = false;
    q.registerWorker({
      queue: 'repo-indexing',
      workerOptions: { lockDuration: 500, stalledInterval: 200 },
      processor: async (_job, _token, signal) => {
        firstStarted = true;
        signal?.addEventListener('abort', () => (aborted = true));
        await gate; // a processor that ignores the signal
      },
    });
    const { jobId } = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    await waitFor(() => firstStarted, { description: 'the long job to start' });
    const t0 = Date.now();
    await q.close({ timeoutMs: 800 });
    expect(Date.now() - t0).toBeLessThan(1_100);
    expect(q.logs.lines.some((l) => /force-closing/.test(l.message))).toBe(true);
    expect(aborted).toBe(true);

    const q2 = ctx.queues({ prefix: q.prefixUsed });
    const ran: string[] = [];
    q2.registerWorker({ queue: 'repo-indexing', workerOptions: { stalledInterval: 200 }, processor: async (job) => void ran.push(job.id!) });
    await waitFor(() => ran.includes(jobId), { timeoutMs: 10_000, description: 'the abandoned job to run again' });
    release();
  });

  it('repo indexing reports progress and resumes at the first unfinished chunk after a failed attempt', async () => {
    const q = ctx.queues({ policies: { 'repo-indexing': { backoffDelayMs: 10 } } });
    const chunksRun: number[] = [];
    const progress: ChunkProgress[] = [];
    let failedOnce = false;
    q.getQueue('repo-indexing');
    const w = q.registerWorker({
      queue: 'repo-indexing',
      processor: async (job) =>
        runChunked(job, 5, async (i) => {
          if (i === 3 && !failedOnce) {
            failedOnce = true;
            throw new Error('network blip at chunk 3');
          }
          chunksRun.push(i);
        }),
    });
    w.worker.on('progress', (_job, p) => progress.push(p as ChunkProgress));
    const { jobId } = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'big' });
    await waitFor(async () => (await q.getQueue('repo-indexing').getCompletedCount()) === 1, { description: 'indexing to finish' });
    expect(chunksRun).toEqual([0, 1, 2, 3, 4]);
    expect(progress.map((p) => p.completed)).toEqual([1, 2, 3, 4, 5]);
    const job = await q.getQueue('repo-indexing').getJob(jobId);
    expect(job?.progress).toEqual({ completed: 5, total: 5 });
    expect(job?.returnvalue).toEqual({ completed: 5, total: 5 });
    expect(job?.attemptsMade).toBe(2);
  });

  it('a repo-indexing request during an active run is kept and runs once afterwards', async () => {
    const q = ctx.queues();
    const runs: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.registerWorker({
      queue: 'repo-indexing',
      processor: async (job) => {
        runs.push(job.data.sha);
        if (runs.length === 1) await gate;
      },
    });
    await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'a' });
    await waitFor(() => runs.length === 1, { description: 'first run active' });
    expect((await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'b' })).status).toBe('replaced');
    expect((await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'c' })).status).toBe('replaced');
    release();
    await waitFor(() => runs.length === 2, { description: 'the follow-up' });
    expect(runs).toEqual(['a', 'c']);
  });
});
