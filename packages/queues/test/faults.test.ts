import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis, waitFor, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueues, EnqueueTimeoutError, RedisUnreachableError, runChunked, type LotaQueues } from '../src/index.js';
import { caps } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Parameters<typeof startRedis>[0] = {}): Promise<{ server: RedisServer; connection: Redis; queues: LotaQueues; logger: ReturnType<typeof recordingLogger> }> {
  const server = await startRedis(opts);
  cleanups.push(() => server.dispose());
  const connection = new Redis(server.url, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  cleanups.push(() => connection.disconnect());
  await waitFor(() => connection.status === 'ready');
  const logger = recordingLogger();
  const queues = createQueues({ connection, prefix: 'faults', logger, enqueueTimeoutMs: 500 });
  cleanups.push(() => queues.close({ timeoutMs: 1_000 }));
  return { server, connection, queues, logger };
}

describe.skipIf(!caps.control)('faults', () => {
  it('a worker process SIGKILLed mid-job: the job is recovered as stalled and completes elsewhere', async () => {
    const { server, queues } = await setup();
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/worker-child.mjs', import.meta.url)), server.url, 'faults'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('ready'), { description: 'the child worker' });
    const { jobId } = await queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 'crash' });
    await waitFor(() => out.includes(`started ${jobId}`), { description: 'the child to start the job' });
    child.kill('SIGKILL');

    const ran: string[] = [];
    queues.registerWorker({ queue: 'memory-extraction', workerOptions: { stalledInterval: 300 }, processor: async (job) => void ran.push(job.id!) });
    await waitFor(async () => (await queues.getQueue('memory-extraction').getCompletedCount()) === 1, { timeoutMs: 10_000, description: 'the stalled job to complete' });
    expect(ran).toEqual([jobId]);
    const job = await queues.getQueue('memory-extraction').getJob(jobId);
    expect(job?.stalledCounter).toBe(1);
  });

  it('17: two worker deaths during one long job: it resumes where each left off and completes, its retries untouched', async () => {
    const { server, queues } = await setup();
    const spawnWorker = () => {
      const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/chunked-child.mjs', import.meta.url)), server.url, 'faults'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(() => child.kill('SIGKILL'));
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      return { child, output: () => out };
    };
    const first = spawnWorker();
    await waitFor(() => first.output().includes('ready'), { description: 'the first worker' });
    const { jobId } = await queues.enqueueRepoIndexing({ orgId: 'o', repoId: 'big' });
    await waitFor(() => first.output().includes('chunk 25\n'), { description: 'progress 25/100' });
    first.child.kill('SIGKILL');
    const second = spawnWorker();
    await waitFor(() => second.output().includes('chunk 50\n'), { timeoutMs: 15_000, description: 'the second worker to resume and reach 50/100' });
    expect(second.output()).not.toMatch(/chunk [0-9]\n|chunk 1[0-9]\n/); // it resumed, it did not restart
    second.child.kill('SIGKILL');
    const chunks: number[] = [];
    queues.registerWorker({
      queue: 'repo-indexing',
      workerOptions: { lockDuration: 1_000, stalledInterval: 300 },
      processor: async (job, _token, signal) => runChunked(job, 100, async (i) => void chunks.push(i), signal),
    });
    const bull = queues.getQueue('repo-indexing');
    await waitFor(async () => ['completed', 'failed'].includes(await bull.getJobState(jobId)), { timeoutMs: 15_000, description: 'the job to finish' });
    const job = await bull.getJob(jobId);
    expect(await job?.getState()).toBe('completed');
    expect(job?.progress).toEqual({ completed: 100, total: 100 });
    expect(job?.stalledCounter).toBe(2);
    expect(job?.attemptsMade).toBe(1); // the one successful attempt: no retry was spent on the deaths
    expect(chunks[0]).toBeGreaterThanOrEqual(50);
  });

  it('24: enqueues made before the first connection share one ready listener (no MaxListenersExceededWarning)', async () => {
    const server = await startRedis();
    cleanups.push(() => server.dispose());
    const lazy = new Redis(server.url, { maxRetriesPerRequest: null, lazyConnect: true });
    lazy.on('error', () => undefined);
    cleanups.push(() => lazy.disconnect());
    const warnings: Error[] = [];
    const onWarning = (w: Error) => void warnings.push(w);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const queues = createQueues({ connection: lazy, prefix: 'lazy', logger: recordingLogger() });
    cleanups.push(() => queues.close({ timeoutMs: 1_000 }));
    const before = lazy.listenerCount('ready');
    const calls = Array.from({ length: 25 }, (_, i) => queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: `t${i}` }));
    const during = lazy.listenerCount('ready');
    const results = await Promise.all(calls);
    expect(during - before).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.status === 'added')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('Redis (AOF) SIGKILLed and restarted mid-run: every acknowledged job completes; only jobs active at the crash run twice', async () => {
    const { server, queues } = await setup({ appendOnly: true });
    const runs = new Map<string, number>();
    const concurrency = 4;
    queues.registerWorker({
      queue: 'memory-extraction',
      concurrency,
      workerOptions: { lockDuration: 2_000, stalledInterval: 500 },
      processor: async (job) => {
        runs.set(job.id!, (runs.get(job.id!) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    const acked: string[] = [];
    const refused: unknown[] = [];
    let stop = false;
    const producer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          acked.push((await queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: `t${i}` })).jobId);
        } catch (err) {
          refused.push(err);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    await waitFor(() => runs.size >= 100, { description: '100 jobs processed before the crash' });
    await server.kill();
    await waitFor(() => refused.length >= 3, { description: 'producers refused while Redis is down' });
    await server.restart();
    await waitFor(() => acked.length >= 300, { timeoutMs: 20_000, description: 'producers to recover' });
    stop = true;
    await producer;
    await waitFor(() => acked.every((id) => runs.has(id)), { timeoutMs: 20_000, description: 'every acknowledged job to run' });
    expect(refused.every((e) => e instanceof RedisUnreachableError || e instanceof EnqueueTimeoutError)).toBe(true);
    const twice = [...runs.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(concurrency);
    // The last job may still be finishing; then nothing is left anywhere, and nothing failed.
    const bull = queues.getQueue('memory-extraction');
    await waitFor(async () => (await bull.getActiveCount()) === 0, { description: 'the last job to finish' });
    expect(await bull.getJobCounts('waiting', 'active', 'delayed', 'failed')).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(await bull.getCompletedCount()).toBeGreaterThanOrEqual(Math.min(acked.length, 1_000));
  });

  it('Redis down: enqueue is refused at once with REDIS_UNREACHABLE and nothing is sent; the worker resumes by itself', async () => {
    const { server, queues, connection } = await setup();
    const ran: string[] = [];
    queues.registerWorker({ queue: 'context-compaction', processor: async (job) => void ran.push(job.data.workstreamId as string) });
    await server.kill();
    await waitFor(() => connection.status !== 'ready', { description: 'the client to notice' });
    const t0 = Date.now();
    const err = await queues.enqueueContextCompaction({ orgId: 'o', workstreamId: 'down' }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(50);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect((err as RedisUnreachableError).code).toBe('REDIS_UNREACHABLE');
    expect((err as Error).message).toMatch(/Nothing was sent/);
    await server.restart();
    await waitFor(() => connection.status === 'ready', { timeoutMs: 10_000, description: 'reconnect' });
    await queues.enqueueContextCompaction({ orgId: 'o', workstreamId: 'after' });
    await waitFor(() => ran.includes('after'), { timeoutMs: 15_000, description: 'the worker to resume' });
    expect(ran).not.toContain('down');
  });

  it('Redis paused: producers get ENQUEUE_TIMEOUT within their bound; after resume() the worker runs jobs and a retry with the same jobId is not a duplicate', async () => {
    const { server, queues } = await setup();
    const ran: string[] = [];
    queues.registerWorker({ queue: 'memory-extraction', processor: async (job) => void ran.push(job.id!) });
    await server.pause();
    const t0 = Date.now();
    const errors = await Promise.all(
      [1, 2, 3].map((i) => queues.enqueue('memory-extraction', { orgId: 'o' }, { jobId: `paused-${i}` }).catch((e: unknown) => e)),
    );
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(900);
    for (const e of errors) {
      expect(e).toBeInstanceOf(EnqueueTimeoutError);
      expect((e as EnqueueTimeoutError).code).toBe('ENQUEUE_TIMEOUT');
    }
    expect((errors[0] as EnqueueTimeoutError).jobId).toBe('paused-1');
    await server.resume();
    // The caller retries what timed out, with the same ids.
    for (const i of [1, 2, 3]) await queues.enqueue('memory-extraction', { orgId: 'o' }, { jobId: `paused-${i}` });
    await waitFor(() => ['paused-1', 'paused-2', 'paused-3'].every((id) => ran.includes(id)), { timeoutMs: 15_000, description: 'the worker to run them' });
    expect(ran.filter((id) => id.startsWith('paused-')).sort()).toEqual(['paused-1', 'paused-2', 'paused-3']);
  });

  it('close() resolves within its timeout when Redis is gone with a job active', async () => {
    const { server, queues } = await setup();
    let started = false;
    queues.registerWorker({ queue: 'repo-indexing', processor: async () => { started = true; await new Promise(() => {}); } });
    await queues.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    await waitFor(() => started, { description: 'the job to start' });
    await server.kill();
    const t0 = Date.now();
    await queues.close({ timeoutMs: 1_000 });
    expect(Date.now() - t0).toBeLessThan(1_300);
  });
});
