/**
 * The noisy-neighbour workload of issue 13, shared by the suite's process (which jobs, in which
 * order) and its worker processes (what a job does, and the meter of where a slot's time went).
 *
 * Every job is a memory extraction: a "model call" of MODEL_MS outside any lock (a timer), then
 * LOCK_MS "writing" under its org's memory lock (`withOrgMemoryLock` of @lota/org-lock, a timer
 * too: a write is I/O, and a busy loop would also stall the other slots of the process).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrgMemoryLock } from '@lota/org-lock';
import type { JobPayload } from '@lota/queues';
import type { Processor } from 'bullmq';

export const SUITE = 'fairness';
export const QUEUE = 'memory-extraction';
export const WORKER_PROCESSES = 2;
/** Per worker process. */
export const CONCURRENCY = 8;
export const SLOTS = WORKER_PROCESSES * CONCURRENCY;
export const MODEL_MS = 20;
export const LOCK_MS = 5;
export const BURST_ORG = 'org-burst';
export const BURST_JOBS = 3_000;
export const SMALL_ORGS = 20;
export const SMALL_JOBS_PER_ORG = 10;
export const SMALL_JOBS = SMALL_ORGS * SMALL_JOBS_PER_ORG;
/** Measured repetitions of each scenario per side; each row is their median. */
export const REPS = 3;
/**
 * Bound on one run, from the first enqueue: a FIFO burst run is lock-bound at about
 * BURST_JOBS x (LOCK_MS + a hand-off), ~20 s on 2 CPUs. Jobs not done by then are reported as
 * missing, and small orgs' jobs still open count their wait so far.
 */
export const RUN_CAP_MS = 90_000;
/** Enqueue calls in flight at once (a host importing turns does not await them one by one). */
export const ENQUEUE_IN_FLIGHT = 32;

export type Scenario = 'alone' | 'burst';
export const SCENARIOS: readonly Scenario[] = ['alone', 'burst'];

/** A memory-extraction job as the workload enqueues it (plus `enqueuedAt`, set when it is sent). */
export interface JobSpec {
  orgId: string;
  workstreamId: string;
  turnId: string;
}

/** What the worker processes see: the spec plus the parent's `Date.now()` right before the enqueue call. */
export interface WorkloadJobData extends JobPayload, JobSpec {
  enqueuedAt: number;
}

export const smallOrg = (i: number): string => `org-small-${String(i + 1).padStart(2, '0')}`;

/**
 * The jobs of one run, in two waves enqueued one after the other: the burst org's BURST_JOBS
 * (none when `alone`), then the small orgs' jobs, round-robin across the orgs (twenty orgs each
 * adding a few turns at the same time). Turn ids are unique per run (deduplication never drops one).
 */
export function waves(scenario: Scenario, run: number): JobSpec[][] {
  const burst: JobSpec[] =
    scenario === 'burst' ? Array.from({ length: BURST_JOBS }, (_, i) => ({ orgId: BURST_ORG, workstreamId: 'import', turnId: `r${run}-b${i}` })) : [];
  const small: JobSpec[] = [];
  for (let j = 0; j < SMALL_JOBS_PER_ORG; j++) {
    for (let o = 0; o < SMALL_ORGS; o++) small.push({ orgId: smallOrg(o), workstreamId: 'chat', turnId: `r${run}-s${o}-${j}` });
  }
  return [burst, small].filter((wave) => wave.length > 0);
}

/** Where one worker process's slot time went, summed over its jobs (ms). */
export interface SlotMeter {
  jobs: number;
  /** Processor start to processor end, every job. */
  processorMs: number;
  /** Inside `withOrgMemoryLock` before `fn` started: waiting for the org's lock. */
  lockWaitMs: number;
  /** Inside `fn`: writing under the org's lock (the release is neither wait nor write). */
  lockHeldMs: number;
}

export const newMeter = (): SlotMeter => ({ jobs: 0, processorMs: 0, lockWaitMs: 0, lockHeldMs: 0 });

/** The memory-extraction processor of the workload, metering into `meter`. */
export function extractionProcessor(locks: OrgMemoryLock, meter: SlotMeter): Processor<JobPayload> {
  return async (job, _token, signal) => {
    const started = performance.now();
    const { orgId } = job.data;
    await sleep(MODEL_MS, undefined, signal ? { signal } : {}); // the model call, outside the lock
    const asked = performance.now();
    let got = asked;
    let wrote = asked;
    await locks.withOrgMemoryLock(orgId, async () => {
      got = performance.now();
      await sleep(LOCK_MS); // the write, under the org's lock
      wrote = performance.now();
    });
    const ended = performance.now();
    meter.jobs++;
    meter.processorMs += ended - started;
    meter.lockWaitMs += got - asked;
    meter.lockHeldMs += wrote - got;
    return undefined;
  };
}
