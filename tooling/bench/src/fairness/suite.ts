/**
 * Issue 13's noisy neighbour: what one org's burst does to every other org on today's FIFO
 * queues, measured so per-org fair scheduling has its anchors in the same run.
 *
 * Two worker processes (`dist/fairness-child.js`) at concurrency 8 on `memory-extraction`, fresh
 * for every run, on one private redis-server flushed before every run. Each job: a 20 ms model
 * call outside the lock, then 5 ms under its org's memory lock (workload.ts). Scenarios: `burst`
 * (one org enqueues 3,000 jobs, then twenty orgs ten each) and `alone` (the twenty orgs only).
 * One untimed warm-up run, then REPS measured runs of each side and scenario, the order rotating;
 * each row is the median of the runs.
 */
import { withBenchRedis } from '../server.js';
import type { BenchContext, SuiteResult } from '../types.js';
import { measureRun, type Env, type RunStats } from './measure.js';
import { caseName, details, key, rows, type Measured } from './report.js';
import { SIDES } from './sides.js';
import { REPS, RUN_CAP_MS, SCENARIOS, SMALL_JOBS, type Scenario } from './workload.js';

const describe = (r: RunStats): string =>
  `${r.completed}/${r.jobs} done in ${(r.wallMs / 1000).toFixed(1)} s; small orgs p50 ${r.smallP50ms.toFixed(0)} ms, p99 ${r.smallP99ms.toFixed(0)} ms; ` +
  `lock wait ${r.lockWaitPct.toFixed(1)}% of processor time${Number.isNaN(r.burstDoneMs) ? '' : `; burst done at ${(r.burstDoneMs / 1000).toFixed(1)} s`}`;

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  return withBenchRedis(ctx, async ({ url, client, admin }) => {
    const env: Env = { ctx, url, client, admin };
    ctx.log(`sides: ${SIDES.map((s) => s.name).join(', ')}; ${REPS} runs per side and scenario, each capped at ${RUN_CAP_MS / 1000} s`);
    ctx.log(`warm-up: one untimed run of ${SMALL_JOBS} jobs per side`);
    let runIndex = 0;
    for (const side of SIDES) await measureRun(env, side, 'alone', runIndex++);

    const measured: Measured = new Map();
    const runs = SIDES.flatMap((side) => SCENARIOS.map((scenario): [typeof side, Scenario] => [side, scenario]));
    for (let rep = 0; rep < REPS; rep++) {
      const shift = rep % runs.length;
      for (const [side, scenario] of [...runs.slice(shift), ...runs.slice(0, shift)]) {
        ctx.log(`run ${rep + 1}/${REPS}: ${caseName(side.name, scenario)}`);
        const stats = await measureRun(env, side, scenario, runIndex++);
        ctx.log(`  ${describe(stats)}`);
        const list = measured.get(key(side.name, scenario)) ?? [];
        list.push(stats);
        measured.set(key(side.name, scenario), list);
      }
    }
    return { rows: rows(measured, SIDES.map((s) => s.name)), extraMarkdown: details(measured, SIDES) };
  });
}
