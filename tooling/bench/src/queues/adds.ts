/** Adding jobs: single sequential adds, deduplicated adds and bulk adds, ours against raw BullMQ. */
import { median, msSince, percentile, row } from '../stats.js';
import type { Row } from '../types.js';
import { alternate, checkDefaults, DEDUPE_QUEUE, HOST_QUEUE, MAX_OVERHEAD, newOurs, newRawQueue, REPS, SUITE, THROUGHPUT_GOAL, WARMUP, type Env, type Side } from './sides.js';

const SINGLE_ADDS = 5_000;
const BULK_SIZE = 100;
const BULK_BATCHES = 150;

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

export async function singleAdd(env: Env): Promise<Row[]> {
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

export async function dedupedAdd(env: Env): Promise<Row[]> {
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

/** One untimed batch, then `BULK_BATCHES` sequential batches of `BULK_SIZE`; jobs/s. */
async function timeBulk(addBatch: (batch: number) => Promise<unknown>): Promise<number> {
  await addBatch(-1);
  const start = process.hrtime.bigint();
  for (let b = 0; b < BULK_BATCHES; b++) await addBatch(b);
  return (BULK_BATCHES * BULK_SIZE) / (msSince(start) / 1000);
}

export async function bulkAdd(env: Env): Promise<Row[]> {
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
