/**
 * The fairness suite's rows and details. The anchor of every row is `fifo, no burst`: the small
 * orgs' jobs alone on today's FIFO queues. The burst org's completion time is set against the
 * floor its own lock imposes (BURST_JOBS x LOCK_MS, one writer at a time).
 */
import { median, row } from '../stats.js';
import type { Row } from '../types.js';
import type { RunStats } from './measure.js';
import {
  BURST_JOBS,
  CONCURRENCY,
  LOCK_MS,
  MODEL_MS,
  RUN_CAP_MS,
  SMALL_JOBS_PER_ORG,
  SMALL_ORGS,
  SUITE,
  WORKER_PROCESSES,
  type Scenario,
} from './workload.js';

/** The side whose no-burst run anchors every row. */
export const ANCHOR_SIDE = 'fifo';

export const caseName = (side: string, scenario: Scenario): string => `${side}, ${scenario === 'alone' ? 'no burst' : 'burst'}`;

/** Every run of one side and scenario. */
export type Measured = Map<string, RunStats[]>;
export const key = (side: string, scenario: Scenario): string => `${side}/${scenario}`;

type Numeric = { [K in keyof RunStats]: RunStats[K] extends number ? K : never }[keyof RunStats];

const pick = (runs: readonly RunStats[] | undefined, field: Numeric): number => (runs && runs.length > 0 ? median(runs.map((r) => r[field])) : Number.NaN);

interface MetricSpec {
  metric: string;
  field: Numeric;
  unit: string;
  better: 'higher' | 'lower';
}

const METRICS: readonly MetricSpec[] = [
  { metric: "small orgs' p50, enqueue to completion", field: 'smallP50ms', unit: 'ms', better: 'lower' },
  { metric: "small orgs' p99, enqueue to completion", field: 'smallP99ms', unit: 'ms', better: 'lower' },
  { metric: 'throughput, all jobs over the whole run', field: 'throughput', unit: 'jobs/s', better: 'higher' },
  { metric: 'lock wait, share of processor time', field: 'lockWaitPct', unit: '%', better: 'lower' },
];

/** One row per metric for `side` in `scenario`, against `fifo, no burst`. */
function rowsAgainstAnchor(measured: Measured, side: string, scenario: Scenario): Row[] {
  const runs = measured.get(key(side, scenario));
  const anchor = measured.get(key(ANCHOR_SIDE, 'alone'));
  const base = { suite: SUITE, case: caseName(side, scenario), anchorName: caseName(ANCHOR_SIDE, 'alone') };
  return METRICS.map((m) => row({ ...base, metric: m.metric, unit: m.unit, better: m.better, value: pick(runs, m.field), anchorValue: pick(anchor, m.field) }));
}

export function rows(measured: Measured, sides: readonly string[]): Row[] {
  const out: Row[] = [];
  for (const side of sides) {
    if (side !== ANCHOR_SIDE) out.push(...rowsAgainstAnchor(measured, side, 'alone'));
    out.push(...rowsAgainstAnchor(measured, side, 'burst'));
    out.push(
      row({
        suite: SUITE,
        case: caseName(side, 'burst'),
        metric: `burst org's ${BURST_JOBS.toLocaleString('en-US')} jobs all done, from the first enqueue`,
        unit: 'ms',
        value: pick(measured.get(key(side, 'burst')), 'burstDoneMs'),
        anchorName: `its lock's floor: ${BURST_JOBS.toLocaleString('en-US')} x ${LOCK_MS} ms`,
        anchorValue: BURST_JOBS * LOCK_MS,
        better: 'lower',
      }),
    );
  }
  return out;
}

const fmt = (value: number, digits = 0): string =>
  Number.isNaN(value) ? 'n/a' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function details(measured: Measured, sides: ReadonlyArray<{ name: string; description: string }>): string {
  const lines = [
    '## fairness: every run',
    '',
    `Workload: ${WORKER_PROCESSES} worker processes at concurrency ${CONCURRENCY} on \`memory-extraction\`; each job a ${MODEL_MS} ms model call ` +
      `(timer, outside the lock), then ${LOCK_MS} ms (timer) under its org's memory lock (\`withOrgMemoryLock\`, @lota/org-lock defaults). ` +
      `burst: one org enqueues ${BURST_JOBS.toLocaleString('en-US')} jobs, then ${SMALL_ORGS} other orgs enqueue ${SMALL_JOBS_PER_ORG} each (round-robin); ` +
      `no burst: the ${SMALL_ORGS} orgs' jobs only. Times are from the first enqueue; a run is capped at ${RUN_CAP_MS / 1000} s.`,
    '',
    ...sides.map((s) => `- \`${s.name}\`: ${s.description}`),
    '',
    'Lock wait = time inside `withOrgMemoryLock` before its function started; "% of processor" divides it by the summed processor time of every job, ' +
      `"% of slots" by ${WORKER_PROCESSES * CONCURRENCY} slots x the run's wall time (idle slots included).`,
    '',
    '| case | run | jobs done | small p50 ms | small p99 ms | small max ms | small orgs done ms | burst done ms | wall ms | jobs/s | ' +
      'lock wait % of processor | lock wait % of slots | processor ms / job | lock wait ms / job | failed attempts | duplicates |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const side of sides) {
    for (const scenario of ['alone', 'burst'] as const) {
      for (const [i, r] of (measured.get(key(side.name, scenario)) ?? []).entries()) {
        const perJob = (ms: number): string => fmt(ms / r.meter.jobs, 1);
        lines.push(
          `| ${caseName(side.name, scenario)} | ${i + 1} | ${r.completed}/${r.jobs} | ${fmt(r.smallP50ms)} | ${fmt(r.smallP99ms)} | ${fmt(r.smallMaxMs)} | ` +
            `${fmt(r.smallDoneMs)} | ${fmt(r.burstDoneMs)} | ${fmt(r.wallMs)} | ${fmt(r.throughput)} | ${fmt(r.lockWaitPct, 1)} | ${fmt(r.lockWaitOfSlotsPct, 1)} | ` +
            `${perJob(r.meter.processorMs)} | ${perJob(r.meter.lockWaitMs)} | ${r.failedAttempts} | ${r.duplicates} |`,
        );
      }
    }
  }
  lines.push('', 'Rows of the main table are the median of these runs; enqueue and completion times are `Date.now()` in the suite and worker processes (one system clock).');
  return lines.join('\n');
}
