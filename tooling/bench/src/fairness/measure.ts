/**
 * One measured run of the fairness suite: a flushed Redis, two fresh worker processes of one
 * side, the scenario's jobs enqueued in waves, and the clock stopped at the last completion
 * (or at RUN_CAP_MS).
 */
import type { Redis } from 'ioredis';
import type { BenchContext } from '../types.js';
import { percentile } from '../stats.js';
import { startWorkers, type Completion } from './children.js';
import type { Side } from './sides.js';
import {
  BURST_ORG,
  CONCURRENCY,
  ENQUEUE_IN_FLIGHT,
  newMeter,
  RUN_CAP_MS,
  SLOTS,
  WORKER_PROCESSES,
  waves,
  type JobSpec,
  type Scenario,
  type SlotMeter,
  type WorkloadJobData,
} from './workload.js';

const PROGRESS_EVERY_MS = 5_000;

export interface Env {
  ctx: BenchContext;
  url: string;
  /** The suite process's client: the producer enqueues on it. */
  client: Redis;
  /** FLUSHALL only. */
  admin: Redis;
}

export interface RunStats {
  side: string;
  scenario: Scenario;
  jobs: number;
  /** Jobs completed within the cap (unique turn ids). */
  completed: number;
  /** Completions reported more than once (a job run twice: stalled and retried). */
  duplicates: number;
  failedAttempts: number;
  /** First enqueue to last completion (or to the cap). */
  wallMs: number;
  /** jobs completed / wallMs. */
  throughput: number;
  /** Small orgs' jobs, enqueue to completion; a job still open at the cap counts its wait so far. */
  smallP50ms: number;
  smallP99ms: number;
  smallMaxMs: number;
  /** From the first enqueue until the last small-org job completed. */
  smallDoneMs: number;
  /** From the first enqueue until the burst org's last job completed (NaN: no burst, or not all done). */
  burstDoneMs: number;
  /** Summed over the worker processes. */
  meter: SlotMeter;
  /** meter.lockWaitMs / meter.processorMs, in %. */
  lockWaitPct: number;
  /** meter.lockWaitMs / (SLOTS x wallMs), in %: the same wait over every slot's whole run, idle time included. */
  lockWaitOfSlotsPct: number;
}

/** Sends `jobs` in order, ENQUEUE_IN_FLIGHT calls at a time, each stamped with Date.now() right before its call. */
async function enqueueWave(add: (data: WorkloadJobData) => Promise<void>, jobs: readonly JobSpec[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) await add({ ...job, enqueuedAt: Date.now() });
  };
  await Promise.all(Array.from({ length: ENQUEUE_IN_FLIGHT }, lane));
}

export async function measureRun(env: Env, side: Side, scenario: Scenario, run: number): Promise<RunStats> {
  await env.admin.flushall();
  const jobWaves = waves(scenario, run);
  const all = jobWaves.flat();
  const burstJobs = all.filter((j) => j.orgId === BURST_ORG).length;
  const seen = new Map<string, Completion>();
  let duplicates = 0;
  let failedAttempts = 0;
  let burstDone = 0;
  let lastBurstAt = 0;
  let lastAt = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const workers = await startWorkers(
    env.ctx,
    { url: env.url, side: side.name, concurrency: CONCURRENCY },
    WORKER_PROCESSES,
    {
      onCompleted(done) {
        if (seen.has(done.turnId)) {
          duplicates++;
          return;
        }
        seen.set(done.turnId, done);
        lastAt = Math.max(lastAt, done.completedAt);
        if (done.orgId === BURST_ORG) {
          burstDone++;
          lastBurstAt = Math.max(lastBurstAt, done.completedAt);
        }
        if (seen.size === all.length) allDone();
      },
      onFailed(message) {
        if (failedAttempts++ === 0) env.ctx.log(`  WARNING: a job attempt failed (it is retried): ${message}`);
      },
    },
  );
  let meters: SlotMeter[];
  const startedAt = Date.now();
  let capped = false;
  const progress = setInterval(() => {
    env.ctx.log(`  ${side.name}, ${scenario}: ${seen.size}/${all.length} done after ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  }, PROGRESS_EVERY_MS);
  let capTimer: NodeJS.Timeout | undefined;
  try {
    const producer = side.openProducer(env.client);
    try {
      for (const wave of jobWaves) await enqueueWave((data) => producer.add(data), wave);
    } finally {
      await producer.close();
    }
    const cap = new Promise<void>((resolve) => {
      capTimer = setTimeout(() => {
        capped = true;
        resolve();
      }, Math.max(0, startedAt + RUN_CAP_MS - Date.now()));
    });
    await Promise.race([finished, cap]);
    meters = await workers.stop();
  } finally {
    clearInterval(progress);
    clearTimeout(capTimer);
    workers.kill();
  }
  const endAt = capped ? startedAt + RUN_CAP_MS : lastAt;
  if (capped) env.ctx.log(`  WARNING: ${side.name}, ${scenario}: capped at ${RUN_CAP_MS / 1000} s with ${seen.size}/${all.length} jobs done`);

  const smallWaits = all
    .filter((j) => j.orgId !== BURST_ORG)
    .map((j) => {
      const done = seen.get(j.turnId);
      return done ? done.completedAt - done.enqueuedAt : Number.NaN;
    });
  const openSmall = smallWaits.filter(Number.isNaN).length;
  // A job still open at the cap: its wait so far (enqueued at the latest when the waves ended, so at least this).
  const waits = smallWaits.map((w) => (Number.isNaN(w) ? endAt - startedAt : w));
  const smallDoneAt = openSmall > 0 ? endAt : Math.max(...[...seen.values()].filter((c) => c.orgId !== BURST_ORG).map((c) => c.completedAt));
  const meter = meters.reduce<SlotMeter>(
    (sum, m) => ({ jobs: sum.jobs + m.jobs, processorMs: sum.processorMs + m.processorMs, lockWaitMs: sum.lockWaitMs + m.lockWaitMs, lockHeldMs: sum.lockHeldMs + m.lockHeldMs }),
    newMeter(),
  );
  const wallMs = endAt - startedAt;
  return {
    side: side.name,
    scenario,
    jobs: all.length,
    completed: seen.size,
    duplicates,
    failedAttempts,
    wallMs,
    throughput: seen.size / (wallMs / 1000),
    smallP50ms: percentile(waits, 50),
    smallP99ms: percentile(waits, 99),
    smallMaxMs: Math.max(...waits),
    smallDoneMs: smallDoneAt - startedAt,
    burstDoneMs: burstJobs > 0 && burstDone === burstJobs ? lastBurstAt - startedAt : Number.NaN,
    meter,
    lockWaitPct: (100 * meter.lockWaitMs) / meter.processorMs,
    lockWaitOfSlotsPct: (100 * meter.lockWaitMs) / (SLOTS * wallMs),
  };
}
