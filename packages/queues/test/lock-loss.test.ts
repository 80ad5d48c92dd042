import { setTimeout as sleep } from 'node:timers/promises';
import { startFaultProxy, startRedis, waitFor, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobLockKey } from '../src/bullmq-keys.js';
import { createQueues, runChunked, type Job, type LotaQueues } from '../src/index.js';

/** Blocks this thread (timers, I/O, lock renewal: everything) for `ms`, like a CPU-bound chunk. */
function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function gate(): { wait: Promise<void>; release: () => void } {
  let release!: () => void;
  const wait = new Promise<void>((r) => (release = r));
  return { wait, release };
}

let server: RedisServer;
let connection: Redis;
const open: LotaQueues[] = [];
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  connection = new Redis(server.url, { maxRetriesPerRequest: null });
  await waitFor(() => connection.status === 'ready');
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close({ timeoutMs: 2_000 })));
});
afterAll(async () => {
  connection.disconnect();
  await server.dispose();
});

function queues(prefix: string, opts: Parameters<typeof createQueues>[0]['policies'] = {}): LotaQueues & { logs: ReturnType<typeof recordingLogger> } {
  const logs = recordingLogger();
  const q = Object.assign(createQueues({ connection, prefix, logger: logs, policies: opts }), { logs });
  open.push(q);
  return q;
}

/**
 * The runs of one 10-chunk job (`runChunked`) across workers: a worker's processor names each of
 * its runs `<worker><n>` (A1, A2, B1...) and records which runs are live (started, signal not
 * aborted), the most live at once, every chunk as `<run>:<i>` and each run's signal. `chunk`
 * does the chunk's work.
 */
function chunkedRuns(chunk: (run: string, i: number) => Promise<void>) {
  const live = new Set<string>();
  const counts: Record<string, number> = {};
  const record = { maxLive: 0, chunks: [] as string[], signals: {} as Record<string, AbortSignal | undefined> };
  const processorFor = (worker: string) => async (job: Job, _token: string | undefined, signal?: AbortSignal) => {
    const run = `${worker}${(counts[worker] = (counts[worker] ?? 0) + 1)}`;
    record.signals[run] = signal;
    live.add(run);
    signal?.addEventListener('abort', () => live.delete(run));
    try {
      return await runChunked(
        job,
        10,
        async (i) => {
          record.maxLive = Math.max(record.maxLive, live.size);
          record.chunks.push(`${run}:${i}`);
          await chunk(run, i);
        },
        signal,
      );
    } finally {
      live.delete(run);
    }
  };
  return Object.assign(record, { processorFor });
}

describe('lock loss: no job runs in two workers at once with both signals live', () => {
  it('16: a chunk that blocks the event loop past the lock: the run stops at the next chunk boundary, its signal aborted, before the next worker starts the job', async () => {
    const LOCK = 1_000;
    const prefix = `lock${++n}`;
    const a = queues(prefix);
    const b = queues(prefix);
    const go = gate();
    const runs = chunkedRuns(async (run, i) => {
      if (run === 'A1' && i === 0) {
        await go.wait;
        blockEventLoop(LOCK * 1.8); // the lock expires in Redis meanwhile
      } else {
        await sleep(150);
      }
    });
    const { chunks, signals, processorFor } = runs;
    // The same short stalled interval everywhere (BullMQ's stalled check is queue-wide).
    const workerOptions = { lockDuration: LOCK, stalledInterval: 200 };
    a.registerWorker({ queue: 'repo-indexing', workerOptions, processor: processorFor('A') });
    const { jobId } = await a.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    await waitFor(() => chunks.includes('A1:0'), { description: 'A to start the job' });
    b.registerWorker({ queue: 'repo-indexing', workerOptions, processor: processorFor('B') });
    go.release();
    const bull = a.getQueue('repo-indexing');
    await waitFor(async () => (await bull.getCompletedCount()) === 1, { timeoutMs: 15_000, description: 'the job to complete after the takeover' });
    expect(runs.maxLive).toBe(1);
    // The blocked run stopped at the boundary after the chunk that blocked.
    expect(chunks.filter((c) => c.startsWith('A1:'))).toEqual(['A1:0']);
    expect(signals.A1?.aborted).toBe(true);
    expect((signals.A1?.reason as { code?: string } | undefined)?.code).toBe('JOB_LOCK_LOST');
    // Chunk 0 of the blocked run was not recorded (A no longer owned the job): the run that took
    // the job over (B's, or A's own worker again: both race for the stalled job, in one process
    // here) did all ten chunks, and it was the only other run.
    const takeovers = Object.keys(signals).filter((r) => r !== 'A1');
    expect(takeovers).toHaveLength(1);
    expect(chunks.filter((c) => c.startsWith(`${takeovers[0]}:`))).toEqual(Array.from({ length: 10 }, (_, i) => `${takeovers[0]}:${i}`));
    expect(a.logs.lines.some((l) => l.message.includes('lock lost') && l.fields.jobId === jobId)).toBe(true);
  });

  it('16: a lock lost while the event loop is free (renewal fails): the signal aborts within the renewal period, and runChunked stops at the next boundary even if the chunk ignores the signal', async () => {
    const LOCK = 1_000;
    const q = queues(`lock${++n}`);
    let signal: AbortSignal | undefined;
    let abortedAt = 0;
    let failure: unknown;
    const starts: number[] = [];
    q.registerWorker({
      queue: 'repo-indexing',
      workerOptions: { lockDuration: LOCK },
      processor: async (job, _token, s) => {
        signal = s;
        s?.addEventListener('abort', () => (abortedAt = Date.now()));
        try {
          return await runChunked(job, 20, async () => {
            starts.push(Date.now());
            await sleep(300); // ignores the signal
          });
        } catch (err) {
          failure = err;
          throw err;
        }
      },
    });
    const { jobId } = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    await waitFor(() => starts.length >= 2, { description: 'two chunks' });
    // Another worker holds the job now (say this one was cut off from Redis past the lock).
    const stolenAt = Date.now();
    await connection.set(jobLockKey(q.getQueue('repo-indexing'), jobId), 'another-worker', 'PX', 10_000);
    await waitFor(() => signal?.aborted, { timeoutMs: 3_000, description: 'the signal to abort' });
    expect(abortedAt - stolenAt).toBeLessThan(LOCK); // BullMQ renews every lockDuration / 4
    expect((signal?.reason as { code?: string }).code).toBe('JOB_LOCK_LOST');
    await waitFor(() => failure !== undefined, { description: 'runChunked to stop' });
    expect((failure as { code?: string }).code).toBe('JOB_LOCK_LOST');
    expect(starts.every((t) => t < abortedAt)).toBe(true); // no chunk started after the abort
  });

  it('16: a worker cut off from Redis (partition): its signal aborts before the lock can expire, so the worker that takes the job over never overlaps a live run', async () => {
    const LOCK = 2_000; // the abort lands LOCK / 10 before the lock can expire: room for a late timer on a loaded box
    const prefix = `lock${++n}`;
    const proxy = await startFaultProxy(server);
    const viaProxy = new Redis(proxy.url, { maxRetriesPerRequest: null });
    viaProxy.on('error', () => undefined);
    await waitFor(() => viaProxy.status === 'ready');
    const logs = recordingLogger();
    const a = createQueues({ connection: viaProxy, prefix, logger: logs });
    const b = queues(prefix);
    const runs = chunkedRuns(() => sleep(150));
    const { chunks, signals, processorFor } = runs;
    const workerOptions = { lockDuration: LOCK, stalledInterval: 200 };
    try {
      a.registerWorker({ queue: 'repo-indexing', workerOptions, processor: processorFor('A') });
      await a.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
      await waitFor(() => chunks.includes('A1:2'), { description: 'A to be running the job' });
      b.registerWorker({ queue: 'repo-indexing', workerOptions, processor: processorFor('B') });
      proxy.blackhole();
      const bull = b.getQueue('repo-indexing');
      await waitFor(async () => (await bull.getCompletedCount()) === 1, { timeoutMs: 15_000, description: 'B to take over and complete the job' });
      expect(proxy.stats().toServer.droppedBytes).toBeGreaterThan(0); // A's renewals really hit the partition
      expect(runs.maxLive).toBe(1);
      expect(signals.A1?.aborted).toBe(true);
      expect(String((signals.A1?.reason as Error | undefined)?.message)).toContain(`no renewal confirmed within ${LOCK} ms`);
      expect(chunks.some((c) => c.startsWith('B'))).toBe(true);
    } finally {
      await a.close({ timeoutMs: 1_000 });
      viaProxy.disconnect();
      await proxy.close();
    }
  });

  it('16: a healthy job running several lock durations is never aborted (renewals keep its lease)', async () => {
    const LOCK = 500;
    const q = queues(`lock${++n}`);
    let signal: AbortSignal | undefined;
    q.registerWorker({
      queue: 'repo-indexing',
      workerOptions: { lockDuration: LOCK },
      processor: async (job, _token, s) => {
        signal = s;
        await sleep(LOCK * 2); // one long await: only BullMQ's renewals vouch for the lock
        return runChunked(job, 8, () => sleep(LOCK / 4), s);
      },
    });
    const { jobId } = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    const bull = q.getQueue('repo-indexing');
    await waitFor(async () => (await bull.getCompletedCount()) === 1, { description: 'the job to complete' });
    expect(signal?.aborted).toBe(false);
    expect((await bull.getJob(jobId))?.attemptsMade).toBe(1);
    expect(q.logs.lines.filter((l) => l.message.includes('lock lost'))).toEqual([]);
  });

  it('16/17: lockDurationMs and maxStalledCount come from the queue policy (maxStalledCount follows maxRetries); workerOptions win', async () => {
    const q = queues(`lock${++n}`, { 'memory-extraction': { maxRetries: 5 }, 'custom-queue': { lockDurationMs: 5_000, maxStalledCount: 0 } });
    const opts = (queue: string, workerOptions = {}) => q.registerWorker({ queue, processor: async () => undefined, workerOptions }).worker.opts;
    expect(opts('repo-indexing')).toMatchObject({ lockDuration: 60_000, maxStalledCount: 3 });
    expect(opts('memory-extraction')).toMatchObject({ lockDuration: 30_000, maxStalledCount: 5 });
    expect(opts('custom-queue')).toMatchObject({ lockDuration: 5_000, maxStalledCount: 0 });
    expect(opts('memory-digest', { lockDuration: 2_000 })).toMatchObject({ lockDuration: 2_000, maxStalledCount: 3 });
    expect(q.policy('context-compaction')).toMatchObject({ lockDurationMs: 30_000, maxStalledCount: 2 });
    expect(() => createQueues({ connection, policies: { 'repo-indexing': { lockDurationMs: 50 } } })).toThrow(/policies\.repo-indexing\.lockDurationMs: must be >= 100/);
  });
});
