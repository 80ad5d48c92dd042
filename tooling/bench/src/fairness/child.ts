/**
 * One worker process of the fairness suite, started by `children.ts` as
 * `node dist/fairness-child.js '<json params>'`. Protocol, one JSON object per line:
 *
 *   child -> parent  {"type":"ready"}                       worker taking jobs, lock warmed up
 *   child -> parent  {"type":"done","turn":..,"org":..,"enq":..,"at":..}   per completed job
 *                    (`enq`: the parent's Date.now() before the enqueue; `at`: ours when BullMQ
 *                    reported the job completed; one system clock for every process on the box)
 *   child -> parent  {"type":"failed","message":..}         per failed attempt (it is retried)
 *   parent -> child  {"type":"stop"}                        (stdin) every job is done, or the cap
 *   child -> parent  {"type":"result","meter":{...}}        SlotMeter, after the worker closed; then it exits
 *
 * Anything else it has to say goes to stderr.
 */
import { createInterface } from 'node:readline';
import { createOrgMemoryLock, createRedisLock } from '@lota/org-lock';
import { Redis } from 'ioredis';
import { sideByName } from './sides.js';
import { extractionProcessor, newMeter } from './workload.js';

export interface ChildParams {
  url: string;
  side: string;
  concurrency: number;
}

const send = (message: object): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

async function main(): Promise<void> {
  const params = JSON.parse(process.argv[2] ?? '{}') as ChildParams;
  const side = sideByName(params.side);
  // As in @lota/runtime: BullMQ gets a client that retries forever, the lock a general-purpose one.
  const connection = new Redis(params.url, { maxRetriesPerRequest: null });
  const lockClient = new Redis(params.url);
  connection.on('error', () => undefined);
  lockClient.on('error', () => undefined);
  const lines = createInterface({ input: process.stdin });
  const stop = new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      if (line.includes('"stop"')) resolve();
    });
    lines.on('close', resolve); // the parent went away: close down too
  });
  const lock = createRedisLock({ clients: lockClient });
  try {
    const locks = createOrgMemoryLock(lock);
    // Untimed: loads the lock's scripts and opens its release subscriber.
    for (let i = 0; i < 5; i++) await locks.withOrgMemoryLock('warm-up', () => Promise.resolve());
    const meter = newMeter();
    const worker = side.startWorker(connection, extractionProcessor(locks, meter), params.concurrency);
    worker.onCompleted((data) => send({ type: 'done', turn: data.turnId, org: data.orgId, enq: data.enqueuedAt, at: Date.now() }));
    worker.onFailed((message) => send({ type: 'failed', message }));
    try {
      await worker.ready();
      send({ type: 'ready' });
      await stop;
    } finally {
      await worker.close();
    }
    send({ type: 'result', meter });
  } finally {
    lines.close();
    await lock.close();
    connection.disconnect();
    lockClient.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[fairness-child] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
