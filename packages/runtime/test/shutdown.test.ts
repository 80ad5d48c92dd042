import { fileURLToPath } from 'node:url';
import { runNodeScript, startRedis, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { createLotaRuntime } from '../src/index.js';
import { quietLogger } from './helpers.js';

const caps = await testkitCapabilities();

describe.skipIf(!caps.control)('disconnect', () => {
  it('resolves within its timeout with Redis gone and a job still running', async () => {
    await using server = await startRedis();
    let started = false;
    const r = await createLotaRuntime({
      redis: { url: server.url },
      logger: quietLogger(),
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
    const child = runNodeScript(script, [server.url]);
    await waitFor(() => child.output().includes('connected'), { description: 'child connected' });
    await server.kill();
    child.send('go');
    // BullMQ arms a watchdog (drainDelay + 1 s = 6 s) around a worker's blocking wait; when Redis
    // dies mid-wait that timer may run out after disconnect(). Nothing else may keep the process.
    expect(await child.exitWithin(9_000)).toBe(0);
    expect(child.output()).toContain('disconnected');
  });
});
