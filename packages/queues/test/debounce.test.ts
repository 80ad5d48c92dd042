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

  it('maxWaitMs: a burst that never pauses still runs by maxWaitMs after its first call, with the latest data; later calls start a new burst', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 300, maxWaitMs: 1_000 } } });
    const runs: Array<{ n: unknown; at: number }> = [];
    const w = q.registerWorker({ queue: 'memory-digest', processor: async (job) => void runs.push({ n: job.data.n, at: Date.now() }) });
    const calls: Array<{ n: number; at: number }> = [];
    // A call every 100 ms for 2.6 s: never a 300 ms pause, so without a maximum nothing would run.
    for (let n = 1; n <= 26; n++) {
      calls.push({ n, at: Date.now() });
      await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n });
      await new Promise((r) => setTimeout(r, 100));
    }
    const first = calls[0]!.at;
    expect(runs.length, JSON.stringify(runs)).toBeGreaterThanOrEqual(2);
    // The first burst ran about maxWaitMs after its first call (the deadline, plus a worker's wake-up).
    expect(runs[0]!.at - first).toBeGreaterThanOrEqual(1_000 - 50);
    expect(runs[0]!.at - first).toBeLessThan(1_000 + 600);
    // With the latest data acknowledged before it ran.
    const latestBefore = (at: number): number => calls.filter((c) => c.at < at).at(-1)!.n;
    expect(runs[0]!.n).toBeGreaterThanOrEqual(latestBefore(runs[0]!.at) - 1);
    // While calls kept coming, no two runs were further apart than maxWaitMs plus slack.
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.at - runs[i - 1]!.at).toBeLessThan(1_000 + 600);
    // The calls stop: one last run, debounceMs after the last call, with the last data.
    await waitFor(() => runs.at(-1)!.n === 26, { timeoutMs: 5_000, description: 'the last call to run' });
    await new Promise((r) => setTimeout(r, 500));
    expect(runs.filter((r) => r.n === 26)).toHaveLength(1);
    await w.close();
  });

  it('without maxWaitMs a burst that never pauses does not run until it pauses (the anchor of the test above)', async () => {
    const q = ctx.queues({ policies: { 'memory-digest': { debounceMs: 300, maxWaitMs: 0 } } });
    const runs: unknown[] = [];
    const w = q.registerWorker({ queue: 'memory-digest', processor: async (job) => void runs.push(job.data.n) });
    for (let n = 1; n <= 15; n++) {
      await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', n });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runs).toEqual([]);
    await waitFor(() => runs.length === 1, { description: 'the run after the pause' });
    expect(runs).toEqual([15]);
    await w.close();
  });

  it('maxWaitMs is checked: at least debounceMs, and only with a debounce', async () => {
    expect(() => ctx.queues({ policies: { 'memory-digest': { debounceMs: 500, maxWaitMs: 100 } } })).toThrow(/policies\.memory-digest\.maxWaitMs: must be at least debounceMs \(500\)/);
    // The digest's default maximum is an hour: a longer window must lower it explicitly.
    expect(() => ctx.queues({ policies: { 'memory-digest': { debounceMs: 2 * 3_600_000 } } })).toThrow(/policies\.memory-digest\.debounceMs: must be at most maxWaitMs \(3600000/);
    const q = ctx.queues({ policies: { host: {} } });
    await expect(q.enqueue('host', { orgId: 'o' }, { dedupeKey: 'k', debounceMs: 500, maxWaitMs: 100 })).rejects.toThrow(/maxWaitMs \(100\) must be at least debounceMs \(500\)/);
    await expect(q.enqueue('host', { orgId: 'o' }, { dedupeKey: 'k', maxWaitMs: 100 })).rejects.toThrow(/maxWaitMs bounds a debounce/);
    // On a host queue the option works per call.
    const runs: number[] = [];
    const w = q.registerWorker({ queue: 'host', processor: async () => void runs.push(Date.now()) });
    const start = Date.now();
    for (let i = 0; i < 12; i++) {
      await q.enqueue('host', { orgId: 'o' }, { dedupeKey: 'k', debounceMs: 200, maxWaitMs: 600 });
      await new Promise((r) => setTimeout(r, 80));
    }
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs[0]! - start).toBeLessThan(600 + 600);
    await w.close();
  });

  it('different workstreams debounce independently; the default window is 15 minutes', async () => {
    const q = ctx.queues();
    expect(q.policy('memory-digest').debounceMs).toBe(15 * 60_000);
    expect(q.policy('memory-digest').maxWaitMs).toBe(60 * 60_000);
    const a = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'a' });
    const b = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'b' });
    expect([a.status, b.status]).toEqual(['added', 'added']);
    const job = await q.getQueue('memory-digest').getJob(a.jobId);
    expect(job?.opts.delay).toBe(15 * 60_000);
    expect(await q.getQueue('memory-digest').getDelayedCount()).toBe(2);
  });
});
