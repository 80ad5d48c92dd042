import { clientNames, startRedis, waitFor, withAdmin, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnectionManager } from '../src/index.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.dispose();
});

describe('with BullMQ', () => {
  it('a Worker on getConnectionForBullMQ(): its blocking connection is a tracked duplicate, and disconnect() closes it', async () => {
    const m = createRedisConnectionManager({ url: server.url, logger: recordingLogger() });
    await m.connect();
    const connection = m.getConnectionForBullMQ() as Redis;
    const name = `q-${Date.now()}`;
    const queue = new Queue(name, { connection });
    const seen: string[] = [];
    const worker = new Worker(name, async (job) => void seen.push(job.name), { connection });
    // After the manager closes, the still-running worker's reconnects are refused; that is the point.
    const workerErrors: Error[] = [];
    worker.on('error', (e) => workerErrors.push(e));
    await worker.waitUntilReady();
    await queue.add('hello', {});
    await waitFor(() => seen.includes('hello'), { description: 'the job to run' });
    const h = await m.health();
    expect(h.clients.filter((c) => c.role === 'bullmq-duplicate').length).toBeGreaterThanOrEqual(1);
    // Shared producer connection: the queue and the worker's non-blocking side reuse the one BullMQ client.
    expect(h.clients.filter((c) => c.role === 'bullmq')).toHaveLength(1);
    await m.disconnect({ timeoutMs: 1_000 });
    await waitFor(
      async () => clientNames(await withAdmin(server, (c) => c.client('LIST') as Promise<string>)).filter((n) => n.length > 0).length === 0,
      { description: "every BullMQ connection closed", timeoutMs: 3000 },
    );
    await waitFor(() => workerErrors.some((e) => /belongs to a manager that was disconnected/.test(e.message)), {
      description: 'the worker to be refused a reconnect',
    });
    await worker.close(true).catch(() => undefined);
    await queue.close().catch(() => undefined);
  });
});
