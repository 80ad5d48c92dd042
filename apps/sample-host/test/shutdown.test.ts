import { getFreePort, startRedis, waitFor } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { spawnHost, startHost, testEnv, waitForCompleted } from './helpers.js';

describe('graceful shutdown', () => {
  it('a worker on SIGTERM finishes its active jobs and exits 0; the rest run on the next worker; none is lost', { timeout: 40_000 }, async () => {
    await using server = await startRedis();
    const env = testEnv(server.url, { SHUTDOWN_TIMEOUT_MS: '10000' });
    await using producer = await startHost(env);
    // Each job "thinks" for 1.5 s (the simulated model call), so two are mid-flight at SIGTERM.
    await using first = spawnHost('worker', { ...env, WORKER_NAME: 'first', EXTRACTION_CONCURRENCY: '2', EXTRACTION_DELAY_MS: '1500' });
    await first.ready;

    const { queues } = producer.runtime;
    const jobIds: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const { jobId } = await queues.enqueueMemoryExtraction({ orgId: `org-${i}`, workstreamId: 'ws', turnId: `t-${i}`, text: `Fact number ${i} is stored safely.` });
      jobIds.push(jobId);
    }
    const queue = queues.getQueue('memory-extraction');
    await waitFor(async () => (await queue.getActiveCount()) === 2, { description: 'two active jobs' });
    const active = (await queue.getActive()).map((j) => j.id);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.logs()).not.toMatch(/"level":"(warn|error)"/);

    // The two active jobs completed before the process exited; the other four wait, untouched.
    for (const id of active) expect(await (await queue.getJob(id ?? ''))?.getState()).toBe('completed');
    expect(await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed')).toEqual({ waiting: 4, active: 0, completed: 2, failed: 0, delayed: 0 });

    await using second = spawnHost('worker', { ...env, WORKER_NAME: 'second' });
    await second.ready;
    await waitForCompleted(producer, 'memory-extraction', 6);
    for (const id of jobIds) expect(await (await queue.getJob(id))?.getState()).toBe('completed');
    const stats = await producer.stats.snapshot();
    expect(stats.jobs['memory-extraction']).toEqual({ completed: 6, retried: 0, failed: 0 });
    for (let i = 1; i <= 6; i++) expect(await producer.store.count(`org-${i}`)).toBe(1);

    second.child.kill('SIGINT'); // Ctrl-C behaves the same
    expect(await second.exited).toBe(0);
  });

  it('the API process on SIGTERM stops serving, disconnects and exits 0', { timeout: 20_000 }, async () => {
    await using server = await startRedis();
    const port = await getFreePort();
    await using api = spawnHost('api', testEnv(server.url, { PORT: String(port) }));
    await api.ready;
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
