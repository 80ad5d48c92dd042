import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@lota/redis-testkit';
import type { Queue } from 'bullmq';
import { expect, it } from 'vitest';
import { runChunked } from '../src/index.js';
import { forEachTopology } from './helpers.js';

/** A processor that blocks until the test calls `release()`. */
function gate(): { wait: Promise<void>; release: () => void } {
  let release!: () => void;
  const wait = new Promise<void>((r) => (release = r));
  return { wait, release };
}

async function stateOf(queue: Queue, jobId: string): Promise<string> {
  return queue.getJobState(jobId);
}

forEachTopology('latest data wins (debounce and repo indexing)', (ctx) => {
  it('18: a call that finds the digest due is decided atomically: a worker taking the job between the add and any state read cannot drop its data', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 30 } } });
    const queue = q.getQueue('memory-digest');
    const first = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 1 });
    await waitFor(
      async () => {
        await queue.promoteJobs();
        return (await stateOf(queue, first.jobId)) === 'waiting';
      },
      { description: 'the digest to be due' },
    );
    // A worker is ready, held back by a paused queue.
    await queue.pause();
    const runs: unknown[] = [];
    let started = 0;
    const hold = gate();
    q.registerWorker({
      queue: 'memory-digest',
      processor: async (job) => {
        started++;
        runs.push(job.data.n);
        if (started === 1) await hold.wait; // still running when the state is read
      },
    });
    // The race, built deterministically: if the package reads the kept job's state after its
    // add, the worker takes the job right then.
    const readState = queue.getJobState.bind(queue);
    let interleaved = false;
    queue.getJobState = async (jobId: string) => {
      if (!interleaved) {
        interleaved = true;
        await queue.resume();
        await waitFor(() => started === 1, { description: 'the worker to take the kept job' });
      }
      return readState(jobId);
    };
    const late = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 2 });
    queue.getJobState = readState;
    await queue.resume();
    hold.release();
    expect(late.status).toBe('replaced');
    // 'replaced' is a promise: the data of this call is what runs last.
    await waitFor(() => runs.at(-1) === 2, { timeoutMs: 5_000, description: `data 2 to run last (runs so far: ${JSON.stringify(runs)})` });
    await sleep(300); // nothing else may run afterwards
    expect(runs.at(-1)).toBe(2);
    expect(late.jobId).toBe(first.jobId); // the kept job carried it
  });

  it('19: after a stall, a call while the job waits again replaces the stored follow-up too: the last digest runs the latest data', async () => {
    const opts = { policies: { 'memory-digest': { debounceMs: 50 } } };
    const q1 = ctx.queues(opts);
    const queue = q1.getQueue('memory-digest');
    const runs: unknown[] = [];
    const hang = gate();
    const a = q1.registerWorker({
      queue: 'memory-digest',
      // BullMQ's stalled check is queue-wide (its own key, PX stalledInterval): same interval for both workers.
      workerOptions: { lockDuration: 500, stalledInterval: 100 },
      processor: async (job) => {
        runs.push(job.data.n);
        if (runs.length === 1) await hang.wait; // this worker "dies" mid-run
      },
    });
    const first = await q1.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 1 });
    await waitFor(() => runs.length === 1, { description: 'the first digest to run' });
    expect((await q1.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 2 })).status).toBe('replaced');
    await queue.pause();
    await a.worker.close(true); // no more lock renewal: the job stalls
    const q2 = ctx.queues({ ...opts, prefix: q1.prefixUsed });
    q2.registerWorker({
      queue: 'memory-digest',
      workerOptions: { lockDuration: 500, stalledInterval: 100 },
      processor: async (job) => void runs.push(job.data.n),
    });
    await waitFor(async () => (await stateOf(queue, first.jobId)) !== 'active', { description: 'the stalled job to be moved back' });
    const third = await q1.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 3 });
    expect(third.status).toBe('replaced');
    await queue.resume();
    await waitFor(() => runs.length >= 2, { description: 'the recovered digest to run' });
    await sleep(500); // a stale follow-up would run within this window (debounce 50 ms)
    expect(runs).toEqual([1, 3]);
    hang.release();
  });

  it('20: a reused custom jobId is reported deduplicated, in enqueue and in bulk, whatever the state of that job', async () => {
    const q = ctx.queues();
    const first = await q.enqueue('memory-extraction', { orgId: 'o', n: 1 }, { jobId: 'job-a' });
    expect(first).toEqual({ jobId: 'job-a', status: 'added' });
    expect(await q.enqueue('memory-extraction', { orgId: 'o', n: 2 }, { jobId: 'job-a' })).toEqual({ jobId: 'job-a', status: 'deduplicated' });
    const ran: unknown[] = [];
    const w = q.registerWorker({ queue: 'memory-extraction', processor: async (job) => void ran.push(job.data.n) });
    await waitFor(async () => (await q.getQueue('memory-extraction').getCompletedCount()) === 1, { description: 'job-a to complete' });
    // Completed and still kept: nothing new runs, so nothing may be reported as added.
    expect(await q.enqueue('memory-extraction', { orgId: 'o', n: 3 }, { jobId: 'job-a' })).toEqual({ jobId: 'job-a', status: 'deduplicated' });
    const bulk = await q.enqueueBulk('memory-extraction', [
      { data: { orgId: 'o', n: 4 }, opts: { jobId: 'job-a' } },
      { data: { orgId: 'o', n: 5 }, opts: { jobId: 'job-b' } },
    ]);
    expect(bulk).toEqual([
      { jobId: 'job-a', status: 'deduplicated' },
      { jobId: 'job-b', status: 'added' },
    ]);
    await waitFor(() => ran.length === 2, { description: 'job-b to run' });
    await sleep(200);
    expect(ran).toEqual([1, 5]);
    await w.close();
  });

  it('20: a call while the digest runs returns the id of the follow-up run that carries it, not the active job', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 50 } } });
    const hold = gate();
    const runs: Array<{ id: string | undefined; n: unknown }> = [];
    q.registerWorker({
      queue: 'memory-digest',
      processor: async (job) => {
        runs.push({ id: job.id, n: job.data.n });
        if (runs.length === 1) await hold.wait;
      },
    });
    const first = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 1 });
    await waitFor(() => runs.length === 1, { description: 'the digest to run' });
    const during = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 2 });
    expect(during.status).toBe('replaced');
    expect(during.jobId).not.toBe(first.jobId);
    hold.release();
    await waitFor(() => runs.length === 2, { description: 'the follow-up run' });
    expect(runs[1]).toEqual({ id: during.jobId, n: 2 });
  });

  it('20 concurrent debounced calls: exactly one added, the others replaced, one run with the data of the call Redis applied last', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 300 } } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n })));
    expect(results.filter((r) => r.status === 'added')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'replaced')).toHaveLength(19);
    const queue = q.getQueue('memory-digest');
    const delayed = await queue.getDelayed();
    expect(delayed).toHaveLength(1);
    const runs: unknown[] = [];
    q.registerWorker({ queue: 'memory-digest', processor: async (job) => void runs.push(job.data.n) });
    await waitFor(() => runs.length === 1, { description: 'the digest to run' });
    await sleep(500);
    expect(runs).toEqual([delayed[0]?.data.n]);
    // The id returned to the call that won is the job that ran.
    expect(results.find((r) => r.jobId === delayed[0]?.id)).toBeDefined();
  });

  it('21: a repo-indexing request while the job waits replaces its data (same job, one run, newest commit)', async () => {
    const q = ctx.queues();
    const r1 = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'a' });
    const r2 = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'b' });
    expect(r1.status).toBe('added');
    expect(r2).toEqual({ jobId: r1.jobId, status: 'replaced' });
    const runs: unknown[] = [];
    q.registerWorker({ queue: 'repo-indexing', processor: async (job) => void runs.push(job.data.sha) });
    await waitFor(() => runs.length === 1, { description: 'indexing to run' });
    await sleep(200);
    expect(runs).toEqual(['b']);
  });

  it('21: a repo-indexing request during retry backoff replaces the data the retry runs, and its chunk progress restarts at 0', async () => {
    const q = ctx.queues({ policies: { 'repo-indexing': { backoffDelayMs: 400 } } });
    const chunks: string[] = [];
    let failed = false;
    q.registerWorker({
      queue: 'repo-indexing',
      processor: async (job) =>
        runChunked(job, 4, async (i) => {
          if (i === 2 && !failed) {
            failed = true;
            throw new Error('network blip');
          }
          chunks.push(`${String(job.data.sha)}${i}`);
        }),
    });
    const r1 = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'a' });
    const queue = q.getQueue('repo-indexing');
    await waitFor(async () => (await stateOf(queue, r1.jobId)) === 'delayed', { description: 'the job to wait in retry backoff' });
    expect(chunks).toEqual(['a0', 'a1']);
    const r2 = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', sha: 'c' });
    expect(r2).toEqual({ jobId: r1.jobId, status: 'replaced' });
    await waitFor(async () => (await queue.getCompletedCount()) === 1, { description: 'the retry to complete' });
    // The chunks done for commit a say nothing about commit c: all of c is indexed.
    expect(chunks).toEqual(['a0', 'a1', 'c0', 'c1', 'c2', 'c3']);
  });
});
