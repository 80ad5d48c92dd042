/** Connections: how many Redis connections the built-in queues and their workers need, ours against raw BullMQ. */
import { BUILT_IN_QUEUES, queuePrefix } from '@lota/queues';
import { waitFor } from '@lota/redis-testkit';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { row } from '../stats.js';
import type { Row } from '../types.js';
import { flush, newOurs, noop, RAW_PREFIX, SUITE, type Env, type Side } from './sides.js';

async function clientCount(env: Env): Promise<number> {
  const list: unknown = await env.admin.client('LIST');
  if (typeof list !== 'string') throw new Error('CLIENT LIST did not return text');
  return list.split('\n').filter((line) => line.startsWith('id=') && !line.startsWith(`id=${env.adminId} `)).length;
}

/** Polls CLIENT LIST until the count holds still for a few reads (connections settle after 'ready'). */
async function settledCount(env: Env): Promise<number> {
  let last = -1;
  let same = 0;
  return waitFor(
    async () => {
      const n = await clientCount(env);
      same = n === last ? same + 1 : 0;
      last = n;
      return same >= 3 ? { n } : undefined;
    },
    { timeoutMs: 5_000, intervalMs: 50, description: 'connection count to settle' },
  ).then((r) => r.n);
}

export async function connections(env: Env): Promise<Row> {
  env.ctx.log(`connections: ${BUILT_IN_QUEUES.length} queues + ${BUILT_IN_QUEUES.length} workers per side`);
  const measure = async (side: Side): Promise<number> => {
    await flush(env);
    const baseline = await settledCount(env);
    // A fresh shared client per side, so every connection the side needs is counted.
    const connection = new Redis(env.url, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    const closers: Array<() => Promise<void>> = [];
    try {
      if (side === 'ours') {
        const ours = newOurs(connection);
        closers.push(() => ours.close({ timeoutMs: 5_000 }));
        for (const name of BUILT_IN_QUEUES) {
          const queue = ours.getQueue(name);
          const { worker } = ours.registerWorker({ queue: name, processor: noop });
          await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
        }
      } else {
        for (const name of BUILT_IN_QUEUES) {
          const prefix = queuePrefix(RAW_PREFIX, name);
          const queue = new Queue(name, { connection, prefix });
          const worker = new Worker(name, noop, { connection, prefix });
          queue.on('error', () => undefined);
          worker.on('error', () => undefined);
          closers.push(async () => {
            await worker.close();
            await queue.close();
          });
          await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
        }
      }
      return (await settledCount(env)) - baseline;
    } finally {
      for (const close of closers) await close();
      await connection.quit();
      await waitFor(async () => (await clientCount(env)) <= baseline, { timeoutMs: 5_000, description: 'connections to close' });
    }
  };
  const raw = await measure('raw');
  const ours = await measure('ours');
  return row(
    {
      suite: SUITE,
      case: `${BUILT_IN_QUEUES.length} queues + ${BUILT_IN_QUEUES.length} workers, one shared client`,
      metric: 'Redis connections',
      unit: 'conns',
      value: ours,
      anchorName: 'BullMQ Queue + Worker',
      anchorValue: raw,
      better: 'lower',
      goal: '<= raw',
    },
    0,
  );
}
