import { fileURLToPath } from 'node:url';
import { killRedisUnderScript, reportedMs, runNodeScriptToEnd, startRedis, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { describe, expect, it } from 'vitest';
import { createLotaRuntime, NotConnectedError } from '../src/index.js';

const caps = await testkitCapabilities();

describe.skipIf(!caps.control)('disconnect', () => {
  it('resolves within its timeout with Redis gone and a job still running', async () => {
    await using server = await startRedis();
    let started = false;
    const r = await createLotaRuntime({
      redis: { url: server.url },
      logger: recordingLogger(),
      workers: { 'repo-indexing': { processor: async () => { started = true; await new Promise(() => {}); } } },
    });
    await r.connect();
    await r.queues.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    await waitFor(() => started, { description: 'the job to start' });
    await server.kill();
    const t0 = Date.now();
    await r.disconnect({ timeoutMs: 1_500 });
    expect(Date.now() - t0).toBeLessThan(1_800);
  });

  it('disconnect() during a connect() that hangs (Redis paused) settles within its own bound, not connectTimeoutMs', async () => {
    await using server = await startRedis();
    await server.pause();
    try {
      const r = await createLotaRuntime({
        redis: { url: server.url, connectTimeoutMs: 8_000 },
        logger: recordingLogger(),
        workers: { 'repo-indexing': { processor: async () => undefined } },
      });
      const connecting = r.connect().then(
        () => 'connected',
        (err: unknown) => err,
      );
      await new Promise((res) => setTimeout(res, 100)); // connect() is now waiting on the paused server
      const t0 = Date.now();
      await r.disconnect({ timeoutMs: 1_000 });
      expect(Date.now() - t0).toBeLessThan(1_300);
      const outcome = await connecting;
      expect(outcome).toBeInstanceOf(NotConnectedError);
      expect((outcome as Error).message).toMatch(/disconnect\(\) was called while connect\(\) was in progress/);
      expect(() => r.queues).toThrow(NotConnectedError);
    } finally {
      await server.resume();
    }
  });

  it('in a child process with Redis gone: disconnect() resolves and the process exits by itself', { timeout: 20_000 }, async () => {
    await using server = await startRedis();
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      import { createLotaRuntime } from ${JSON.stringify(entry)};
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const r = await createLotaRuntime({ redis: { url: process.argv[1], healthCheckIntervalMs: 200, healthCheckTimeoutMs: 100 }, logger: quiet,
        workers: { 'memory-extraction': { processor: async () => {} } },
        aiGateway: { embeddingProvider: { model: 'm', embed: async (t) => t.map(() => [1, 2]) } } });
      await r.connect();
      await r.embeddings.embed(['warm']);
      await Promise.all([1, 2].map(() => r.locks.withOrgMemoryLock('o', async () => new Promise((res) => setTimeout(res, 10)))));
      process.stdout.write('connected\\n');
      process.stdin.once('data', async () => {
        await r.disconnect({ timeoutMs: 1000 });
        process.stdout.write('disconnected\\n');
        process.stdin.destroy();
      });
    `;
    // BullMQ arms a watchdog (drainDelay + 1 s = 6 s) around a worker's blocking wait; when Redis
    // dies mid-wait that timer may run out after disconnect(). Nothing else may keep the process.
    expect(await killRedisUnderScript(script, server, 9_000)).toMatchObject({ code: 0, output: expect.stringContaining('disconnected') });
  });
});

/**
 * Child processes whose event loop nothing but the runtime holds: stdin is destroyed before
 * `disconnect()` and the script awaits it at the top level. An unref()'d timer on the awaited
 * path lets Node exit with code 13 (unsettled top-level await) before the marker is printed.
 */
describe.skipIf(!caps.control)('disconnect() settles with nothing else holding the event loop', () => {
  const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const times = (output: string): number[] => reportedMs(output, 'disconnected in');

  it('Redis killed while a worker runs a job and the lock has a subscriber: the top-level await settles within its bound, exit code 0', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    // The job runs until its signal aborts (a long job, as in production): with concurrency 1 the
    // worker is not blocked in BZPOPMIN, so no BullMQ timer hides a timer of ours that does not hold the loop.
    const script = `
      import { createLotaRuntime } from ${JSON.stringify(entry)};
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      let started = false;
      const r = await createLotaRuntime({ redis: { url: process.argv[1] }, logger: quiet,
        workers: { 'repo-indexing': { concurrency: 1, processor: async (_job, _token, signal) => {
          started = true;
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
        } } } });
      await r.connect();
      // Two holders of one scope: the second waits, which opens the lock's release subscriber.
      await Promise.all([1, 2].map(() => r.locks.withOrgMemoryLock('o', () => new Promise((res) => setTimeout(res, 20)))));
      await r.queues.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
      while (!started) await new Promise((res) => setTimeout(res, 10));
      process.stdout.write('connected\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      process.stdin.destroy();
      while ((await r.redis.health()).clients.some((c) => c.status === 'ready')) await new Promise((res) => setTimeout(res, 10));
      const t0 = performance.now();
      await r.disconnect({ timeoutMs: 1500 });
      process.stdout.write('disconnected in ' + Math.round(performance.now() - t0) + ' ms\\n');
      const t1 = performance.now();
      process.on('exit', () => process.stdout.write('exited ' + Math.round(performance.now() - t1) + ' ms later\\n'));
    `;
    const end = await killRedisUnderScript(script, server, 15_000);
    expect(end).toMatchObject({ code: 0, output: expect.stringContaining('disconnected in') });
    expect(times(end.output)[0]).toBeLessThanOrEqual(1_500 + 100);
    // Nothing of the runtime's outlives the call: the process ends right after the marker.
    expect(reportedMs(end.output, 'exited')[0]).toBeLessThan(1_000);
  });

  it('Redis up, disconnect() within a few ms of connect() while a worker runs a job, five times in a row: each settles, exit code 0', { timeout: 40_000 }, async () => {
    await using server = await startRedis();
    const script = `
      import { createLotaRuntime } from ${JSON.stringify(entry)};
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      for (let i = 0; i < 5; i++) {
        const r = await createLotaRuntime({ redis: { url: process.argv[1], keyPrefix: 'k' + i }, logger: quiet,
          workers: { 'repo-indexing': { processor: async () => new Promise((res) => setTimeout(res, 5)) } } });
        await r.connect();
        void r.queues.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' + i }).catch(() => {});
        const t0 = performance.now();
        await r.disconnect({ timeoutMs: 2000 });
        process.stdout.write('disconnected in ' + Math.round(performance.now() - t0) + ' ms\\n');
      }
      process.stdout.write('all done\\n');
    `;
    const end = await runNodeScriptToEnd(script, [server.url], 25_000);
    expect(end).toMatchObject({ code: 0, output: expect.stringContaining('all done') });
    expect(times(end.output)).toHaveLength(5);
    for (const t of times(end.output)) expect(t).toBeLessThanOrEqual(2_000 + 100);
  });
});
