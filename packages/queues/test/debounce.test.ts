import { waitFor } from '@lota/redis-testkit';
import { expect, it } from 'vitest';
import { forEachTopology } from './helpers.js';

const WINDOW = 400;

forEachTopology('debounce (memory digest)', (ctx) => {
  it('N schedules inside the window: one run, with the last data, timed from the last call', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: WINDOW } } });
    const runs: Array<{ data: unknown; at: number }> = [];
    const w = q.registerWorker({ queue: 'memory-digest', processor: async (job) => void runs.push({ data: job.data.n, at: Date.now() }) });
    const results = [];
    let lastCall = 0;
    for (let n = 1; n <= 5; n++) {
      results.push(await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n }));
      lastCall = Date.now();
      await new Promise((r) => setTimeout(r, 100)); // calls spread over ~500 ms: longer than one window
    }
    expect(results[0]!.status).toBe('added');
    expect(results.slice(1).map((r) => r.status)).toEqual(['replaced', 'replaced', 'replaced', 'replaced']);
    await waitFor(() => runs.length === 1, { description: 'the digest to run' });
    expect(runs[0]!.data).toBe(5);
    // The timer restarted on every call: the run happens a full window after the LAST call.
    expect(runs[0]!.at - lastCall).toBeGreaterThanOrEqual(WINDOW - 50);
    // And exactly once: nothing else runs within another window.
    await new Promise((r) => setTimeout(r, WINDOW + 200));
    expect(runs).toHaveLength(1);
    const counts = await q.getQueue('memory-digest').getJobCounts('completed', 'delayed', 'waiting', 'active');
    expect(counts).toEqual({ completed: 1, delayed: 0, waiting: 0, active: 0 });
    await w.close();
  });

  it('a call while the digest is running is not lost: exactly one follow-up run, with the latest data', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 50 } } });
    const runs: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = q.registerWorker({
      queue: 'memory-digest',
      processor: async (job) => {
        runs.push(job.data.n);
        if (runs.length === 1) await gate;
      },
    });
    await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 1 });
    await waitFor(() => runs.length === 1, { description: 'the first digest to start' });
    const during = [
      await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 2 }),
      await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 3 }),
    ];
    expect(during.map((r) => r.status)).toEqual(['replaced', 'replaced']);
    release();
    await waitFor(() => runs.length === 2, { description: 'the follow-up run' });
    expect(runs).toEqual([1, 3]);
    await new Promise((r) => setTimeout(r, 300));
    expect(runs).toHaveLength(2);
    await w.close();
  });

  it('a call after the digest is due but before a worker picks it up still wins (latest data)', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 30 } } });
    await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 1 });
    const queue = q.getQueue('memory-digest');
    // No worker yet: BullMQ promotes delayed jobs when a worker or the queue checks; poll the state.
    await waitFor(async () => {
      await queue.promoteJobs();
      return (await queue.getWaitingCount()) === 1;
    }, { description: 'the digest to be due (waiting)' });
    const late = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n: 2 });
    expect(late.status).toBe('replaced');
    const runs: unknown[] = [];
    const w = q.registerWorker({ queue: 'memory-digest', processor: async (job) => void runs.push(job.data.n) });
    await waitFor(() => runs.length === 1, { description: 'the digest to run' });
    expect(runs).toEqual([2]);
    await w.close();
  });

  it('different workstreams debounce independently; the default window is 15 minutes', async () => {
    const q = ctx.queues();
    expect(q.policy('memory-digest').debounceMs).toBe(15 * 60_000);
    const a = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'a' });
    const b = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'b' });
    expect([a.status, b.status]).toEqual(['added', 'added']);
    const job = await q.getQueue('memory-digest').getJob(a.jobId);
    expect(job?.opts.delay).toBe(15 * 60_000);
    expect(await q.getQueue('memory-digest').getDelayedCount()).toBe(2);
  });
});
