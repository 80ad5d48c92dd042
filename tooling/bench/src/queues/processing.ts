/** Processing: how fast a worker drains a full queue of no-op jobs, ours against a raw BullMQ Worker. */
import { queuePrefix } from '@lota/queues';
import { Worker } from 'bullmq';
import { median, msSince, row } from '../stats.js';
import type { Row } from '../types.js';
import { alternate, HOST_QUEUE, MAX_OVERHEAD, newOurs, newRawQueue, noop, RAW_PREFIX, REPS, SUITE, THROUGHPUT_GOAL, WARMUP, type Env } from './sides.js';

/** The runs: jobs per run at each worker concurrency. */
export const PROCESSING: ReadonlyArray<{ concurrency: number; jobs: number }> = [
  { concurrency: 1, jobs: 3_000 },
  { concurrency: 10, jobs: 10_000 },
  { concurrency: 50, jobs: 10_000 },
];
/** Bound on one processing run; a run that takes longer means something is broken, not slow. */
const RUN_TIMEOUT_MS = 60_000;

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

export async function processingCase(env: Env, concurrency: number, jobs: number): Promise<Row> {
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
