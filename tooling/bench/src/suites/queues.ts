/**
 * @lota/queues against raw BullMQ, on one private redis-server, in one process, in one run.
 *
 * Fairness rules: both sides share one ioredis client (maxRetriesPerRequest: null), use the same
 * `<prefix>:{<queue>}` key shape with prefixes of equal length, and the raw queues get exactly the
 * defaultJobOptions LotaQueues.getQueue() sets (attempts, backoff, removeOnComplete,
 * removeOnFail), so Redis does the same work per job. The database is flushed before every
 * measured run; ours and raw alternate (raw, ours / ours, raw / raw, ours) and each row is the
 * median of the repetitions.
 */
import { isDeepStrictEqual } from 'node:util';
import { BUILT_IN_QUEUES, createQueues, queuePrefix, type Logger, type LotaQueues, type QueuePolicy } from '@lota/queues';
import { startRedis, waitFor } from '@lota/redis-testkit';
import { Queue, Worker, type DefaultJobOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { median, msSince, percentile, row } from '../stats.js';
import type { BenchContext, Row } from '../types.js';

const SUITE = 'queues';
/** Same length, same shape: `lota:{bench-queue}` vs `bull:{bench-queue}`. */
const OURS_PREFIX = 'lota';
const RAW_PREFIX = 'bull';
const HOST_QUEUE = 'bench-queue';
const DEDUPE_QUEUE = 'memory-extraction';

const REPS = 7;
const WARMUP = 100;
const SINGLE_ADDS = 5_000;
const BULK_SIZE = 100;
const BULK_BATCHES = 150;
const PROCESSING: ReadonlyArray<{ concurrency: number; jobs: number }> = [
  { concurrency: 1, jobs: 3_000 },
  { concurrency: 10, jobs: 10_000 },
  { concurrency: 50, jobs: 10_000 },
];
/** Bound on one processing run; a run that takes longer means something is broken, not slow. */
const RUN_TIMEOUT_MS = 60_000;

const THROUGHPUT_GOAL = 'overhead <= 10%';
const MAX_OVERHEAD = 0.1;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noop = (): Promise<undefined> => Promise.resolve(undefined);

type Side = 'raw' | 'ours';

interface Env {
  ctx: BenchContext;
  url: string;
  /** The one client both sides share. */
  connection: Redis;
  /** FLUSHALL and CLIENT LIST; never used by the code under test. */
  admin: Redis;
  adminId: number;
}

/** Ours, with the host queue declared the way a host would (no retries, like the raw default). */
function newOurs(connection: Redis): LotaQueues {
  return createQueues({ connection, prefix: OURS_PREFIX, policies: { [HOST_QUEUE]: { maxRetries: 0 } }, logger: silent });
}

/** The defaultJobOptions LotaQueues.getQueue() gives a queue with this policy (default keepCompleted/keepFailed). */
function sameDefaults(policy: Readonly<QueuePolicy>): DefaultJobOptions {
  return {
    attempts: policy.maxRetries + 1,
    backoff: { type: 'exponential', delay: policy.backoffDelayMs },
    removeOnComplete: { count: 1_000, age: 86_400 },
    removeOnFail: { count: 10_000, age: 7 * 86_400 },
  };
}

function newRawQueue(env: Env, name: string): Queue {
  const policy = newOurs(env.connection).policy(name); // no Redis traffic: just the resolved policy
  const queue = new Queue(name, { connection: env.connection, prefix: queuePrefix(RAW_PREFIX, name), defaultJobOptions: sameDefaults(policy) });
  queue.on('error', () => undefined);
  return queue;
}

/** Warns (once per queue) if the raw anchor stopped matching ours, which would make the comparison unfair. */
const checked = new Set<string>();
function checkDefaults(env: Env, ours: LotaQueues, name: string): void {
  if (checked.has(name)) return;
  checked.add(name);
  const actual = ours.getQueue(name).defaultJobOptions;
  const mirrored = sameDefaults(ours.policy(name));
  if (!isDeepStrictEqual(actual, mirrored)) {
    env.ctx.log(`WARNING: raw defaultJobOptions for '${name}' no longer match @lota/queues: ours ${JSON.stringify(actual)}, raw ${JSON.stringify(mirrored)}; update sameDefaults().`);
  }
}

async function flush(env: Env): Promise<void> {
  await env.admin.flushall();
}

/**
 * Runs both sides `reps` times, alternating which goes first, flushing Redis before each run.
 */
async function alternate<T>(env: Env, reps: number, sides: Record<Side, () => Promise<T>>): Promise<Record<Side, T[]>> {
  const out: Record<Side, T[]> = { raw: [], ours: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order: Side[] = rep % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
    for (const side of order) {
      await flush(env);
      out[side].push(await sides[side]());
    }
  }
  return out;
}

// ---------------------------------------------------------------- single adds

interface AddStats {
  perSec: number;
  p50us: number;
  p99us: number;
}

/** `WARMUP` untimed adds, then `n` sequential awaited adds, each timed. */
async function timeSequentialAdds(add: (i: number) => Promise<unknown>, n: number): Promise<AddStats> {
  for (let i = 0; i < WARMUP; i++) await add(-1 - i);
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await add(i);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  const ms = msSince(start);
  return { perSec: n / (ms / 1000), p50us: percentile(latencies, 50), p99us: percentile(latencies, 99) };
}

function addRows(caseName: string, anchorName: string, runs: Record<Side, AddStats[]>): Row[] {
  const pick = (side: Side, key: keyof AddStats): number => median(runs[side].map((s) => s[key]));
  const base = { suite: SUITE, case: caseName, anchorName };
  return [
    row({ ...base, metric: 'throughput', unit: 'jobs/s', value: pick('ours', 'perSec'), anchorValue: pick('raw', 'perSec'), better: 'higher', goal: THROUGHPUT_GOAL }, MAX_OVERHEAD),
    row({ ...base, metric: 'p50 latency per add', unit: 'µs', value: pick('ours', 'p50us'), anchorValue: pick('raw', 'p50us'), better: 'lower' }),
    row({ ...base, metric: 'p99 latency per add', unit: 'µs', value: pick('ours', 'p99us'), anchorValue: pick('raw', 'p99us'), better: 'lower' }),
  ];
}

async function singleAdd(env: Env): Promise<Row[]> {
  env.ctx.log(`single add: ${SINGLE_ADDS} sequential adds x ${REPS} reps per side`);
  const runs = await alternate(env, REPS, {
    raw: async () => {
      const queue = newRawQueue(env, HOST_QUEUE);
      try {
        return await timeSequentialAdds((i) => queue.add(HOST_QUEUE, { orgId: 'o', i }), SINGLE_ADDS);
      } finally {
        await queue.close();
      }
    },
    ours: async () => {
      const ours = newOurs(env.connection);
      try {
        checkDefaults(env, ours, HOST_QUEUE);
        return await timeSequentialAdds((i) => ours.enqueue(HOST_QUEUE, { orgId: 'o', i }), SINGLE_ADDS);
      } finally {
        await ours.close({ timeoutMs: 5_000 });
      }
    },
  });
  return addRows(`single add, ${SINGLE_ADDS} sequential`, 'BullMQ Queue.add', runs);
}

async function dedupedAdd(env: Env): Promise<Row[]> {
  env.ctx.log(`deduplicated add: ${SINGLE_ADDS} sequential adds (unique ids) x ${REPS} reps per side`);
  const runs = await alternate(env, REPS, {
    raw: async () => {
      const queue = newRawQueue(env, DEDUPE_QUEUE);
      try {
        return await timeSequentialAdds(
          (i) => queue.add(DEDUPE_QUEUE, { orgId: 'o', workstreamId: 'w', turnId: `t${i}` }, { deduplication: { id: `o:w:t${i}` } }),
          SINGLE_ADDS,
        );
      } finally {
        await queue.close();
      }
    },
    ours: async () => {
      const ours = newOurs(env.connection);
      try {
        checkDefaults(env, ours, DEDUPE_QUEUE);
        return await timeSequentialAdds((i) => ours.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: `t${i}` }), SINGLE_ADDS);
      } finally {
        await ours.close({ timeoutMs: 5_000 });
      }
    },
  });
  return addRows(`deduplicated add (enqueueMemoryExtraction), ${SINGLE_ADDS} unique`, 'Queue.add + deduplication.id', runs);
}

// ---------------------------------------------------------------- bulk adds

/** One untimed batch, then `BULK_BATCHES` sequential batches of `BULK_SIZE`; jobs/s. */
async function timeBulk(addBatch: (batch: number) => Promise<unknown>): Promise<number> {
  await addBatch(-1);
  const start = process.hrtime.bigint();
  for (let b = 0; b < BULK_BATCHES; b++) await addBatch(b);
  return (BULK_BATCHES * BULK_SIZE) / (msSince(start) / 1000);
}

async function bulkAdd(env: Env): Promise<Row[]> {
  env.ctx.log(`addBulk: ${BULK_BATCHES} batches of ${BULK_SIZE} x ${REPS} reps per side`);
  const datas = (batch: number): Array<{ orgId: string; i: number }> => Array.from({ length: BULK_SIZE }, (_, i) => ({ orgId: 'o', i: batch * BULK_SIZE + i }));
  const runs = await alternate(env, REPS, {
    raw: async () => {
      const queue = newRawQueue(env, HOST_QUEUE);
      const batches = new Map(Array.from({ length: BULK_BATCHES + 1 }, (_, b) => [b - 1, datas(b - 1).map((data) => ({ name: HOST_QUEUE, data }))]));
      try {
        return await timeBulk((b) => queue.addBulk(batches.get(b) ?? []));
      } finally {
        await queue.close();
      }
    },
    ours: async () => {
      const ours = newOurs(env.connection);
      const batches = new Map(Array.from({ length: BULK_BATCHES + 1 }, (_, b) => [b - 1, datas(b - 1).map((data) => ({ data }))]));
      try {
        return await timeBulk((b) => ours.enqueueBulk(HOST_QUEUE, batches.get(b) ?? []));
      } finally {
        await ours.close({ timeoutMs: 5_000 });
      }
    },
  });
  return [
    row(
      {
        suite: SUITE,
        case: `addBulk, ${BULK_BATCHES} x ${BULK_SIZE}`,
        metric: 'throughput',
        unit: 'jobs/s',
        value: median(runs.ours),
        anchorName: 'BullMQ Queue.addBulk',
        anchorValue: median(runs.raw),
        better: 'higher',
        goal: THROUGHPUT_GOAL,
      },
      MAX_OVERHEAD,
    ),
  ];
}

// ---------------------------------------------------------------- processing

/** Resolves when `worker` has completed `jobs` jobs; rejects on a failed job or after RUN_TIMEOUT_MS. */
function completions(worker: Worker, jobs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = 0;
    const timer = setTimeout(() => reject(new Error(`processing: only ${done}/${jobs} jobs completed after ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
    worker.on('completed', () => {
      if (++done === jobs) {
        clearTimeout(timer);
        resolve();
      }
    });
    worker.on('failed', (_job, err) => {
      clearTimeout(timer);
      reject(new Error(`processing: a job failed: ${err.message}`));
    });
  });
}

/** Fills the queue (untimed), then times from starting the worker until every job is completed. */
async function timeProcessing(fill: () => Promise<void>, start: () => { worker: Worker; close(): Promise<void> }, jobs: number): Promise<number> {
  await fill();
  const t0 = process.hrtime.bigint();
  const running = start();
  try {
    await completions(running.worker, jobs);
    return jobs / (msSince(t0) / 1000);
  } finally {
    await running.close();
  }
}

const FILL_CHUNK = 500;

async function processingCase(env: Env, concurrency: number, jobs: number): Promise<Row> {
  env.ctx.log(`processing: ${jobs} jobs at concurrency ${concurrency} x ${REPS} reps per side (+1 warm-up run of ${WARMUP} each)`);
  const chunks = (count: number): Array<Array<{ orgId: string; i: number }>> => {
    const out: Array<Array<{ orgId: string; i: number }>> = [];
    for (let from = 0; from < count; from += FILL_CHUNK) {
      out.push(Array.from({ length: Math.min(FILL_CHUNK, count - from) }, (_, k) => ({ orgId: 'o', i: from + k })));
    }
    return out;
  };
  const rawRun = async (count: number): Promise<number> => {
    const queue = newRawQueue(env, HOST_QUEUE);
    try {
      return await timeProcessing(
        async () => {
          for (const chunk of chunks(count)) await queue.addBulk(chunk.map((data) => ({ name: HOST_QUEUE, data })));
        },
        () => {
          const worker = new Worker(HOST_QUEUE, noop, { connection: env.connection, prefix: queuePrefix(RAW_PREFIX, HOST_QUEUE), concurrency });
          worker.on('error', () => undefined);
          return { worker, close: () => worker.close() };
        },
        count,
      );
    } finally {
      await queue.close();
    }
  };
  const oursRun = async (count: number): Promise<number> => {
    const ours = newOurs(env.connection);
    try {
      return await timeProcessing(
        async () => {
          for (const chunk of chunks(count)) await ours.enqueueBulk(HOST_QUEUE, chunk.map((data) => ({ data })));
        },
        () => ours.registerWorker({ queue: HOST_QUEUE, concurrency, processor: noop }),
        count,
      );
    } finally {
      await ours.close({ timeoutMs: 5_000 });
    }
  };
  // Warm-up: one short run per side, results dropped.
  await alternate(env, 1, { raw: () => rawRun(WARMUP), ours: () => oursRun(WARMUP) });
  const runs = await alternate(env, REPS, { raw: () => rawRun(jobs), ours: () => oursRun(jobs) });
  return row(
    {
      suite: SUITE,
      case: `process ${jobs} no-op jobs, concurrency ${concurrency}`,
      metric: 'throughput',
      unit: 'jobs/s',
      value: median(runs.ours),
      anchorName: 'BullMQ Worker',
      anchorValue: median(runs.raw),
      better: 'higher',
      goal: THROUGHPUT_GOAL,
    },
    MAX_OVERHEAD,
  );
}

// ---------------------------------------------------------------- connections

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

async function connections(env: Env): Promise<Row> {
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

// ---------------------------------------------------------------- suite

export async function run(ctx: BenchContext): Promise<Row[]> {
  const server = await startRedis();
  const connection = new Redis(server.url, { maxRetriesPerRequest: null });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  connection.on('error', () => undefined);
  admin.on('error', () => undefined);
  try {
    await ctx.noteServer(server);
    await Promise.all([connection.ping(), admin.ping()]);
    const env: Env = { ctx, url: server.url, connection, admin, adminId: await admin.client('ID') };
    const rows: Row[] = [];
    rows.push(...(await singleAdd(env)));
    rows.push(...(await dedupedAdd(env)));
    rows.push(...(await bulkAdd(env)));
    for (const { concurrency, jobs } of PROCESSING) rows.push(await processingCase(env, concurrency, jobs));
    rows.push(await connections(env));
    return rows;
  } finally {
    connection.disconnect();
    admin.disconnect();
    await server.dispose();
  }
}
