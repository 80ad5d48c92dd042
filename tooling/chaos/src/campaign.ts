import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKS, type Violation } from '@lota/fault-harness';
import { startRedis } from '@lota/redis-testkit';
import { runSchedule, type ScheduleResult } from './run-schedule.js';
import { planSchedule, type FaultKind, type PlanOptions } from './schedule.js';

export interface CampaignOptions extends PlanOptions {
  /** Schedules to run; schedule i uses seed `seed + i` (replay one with `--schedules 1 --seed <its seed>`). */
  schedules: number;
  seed: number;
  /** Stop starting new schedules after this long (the CI-sized run). */
  budgetMs?: number;
  unsafeNoLock?: boolean;
  log?: (line: string) => void;
  /** Where a schedule that broke a guarantee leaves its history and outputs (`<dir>/<seed>/`). */
  artifactsDir?: string;
}

export interface CampaignReport {
  seed: number;
  results: ScheduleResult[];
  /** Faults injected, by kind. */
  faults: Partial<Record<FaultKind, number>>;
  violations: Array<Violation & { seed: number }>;
  /** Schedules that could not run (infrastructure), with why. */
  errors: Array<{ seed: number; error: string }>;
  checks: readonly string[];
  totals: { sections: number; runs: number; acks: number; effects: number; calls: number; stalls: number; processes: number };
  durationMs: number;
}

/** The built worker (dist/worker.js), whether this module runs from dist/ or, in tests, from src/. */
const WORKER_SCRIPT = fileURLToPath(new URL('../dist/worker.js', import.meta.url));

/** Runs schedules one after another (they measure timing: never side by side) and aggregates. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const started = performance.now();
  const log = opts.log ?? (() => undefined);
  const store = await startRedis();
  const results: ScheduleResult[] = [];
  try {
    for (let i = 0; i < opts.schedules; i++) {
      if (opts.budgetMs !== undefined && performance.now() - started > opts.budgetMs) break;
      const schedule = planSchedule(opts.seed + i, opts);
      const r = await runSchedule(schedule, { workerScript: WORKER_SCRIPT, storeUrl: store.url, unsafeNoLock: opts.unsafeNoLock ?? false, log });
      results.push(r);
      const verdict = r.error ? `ERROR ${r.error.split('\n')[0] ?? ''}` : r.violations.length === 0 ? 'ok' : `${r.violations.length} VIOLATION(S)`;
      log(`seed ${r.seed}: ${verdict} in ${(r.durationMs / 1000).toFixed(1)} s (${r.counts.sections} sections, ${r.counts.runs} runs, ${r.counts.acks} acks)`);
      for (const v of r.violations) log(`  [${v.check}] ${v.message}  (replay: pnpm chaos --schedules 1 --seed ${r.seed})`);
      if (r.artifacts && opts.artifactsDir) {
        const dir = join(opts.artifactsDir, String(r.seed));
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'history.jsonl'), r.artifacts.history.map((e) => JSON.stringify(e)).join('\n'));
        for (const o of r.artifacts.outputs) writeFileSync(join(dir, `${o.source}.log`), o.text);
        writeFileSync(join(dir, 'violations.txt'), r.violations.map((v) => `[${v.check}] ${v.message}`).join('\n'));
        log(`  history and outputs: ${dir}`);
        delete r.artifacts;
      }
    }
  } finally {
    await store.dispose();
  }
  const faults: Partial<Record<FaultKind, number>> = {};
  for (const r of results) for (const f of r.faults) faults[f.kind as FaultKind] = (faults[f.kind as FaultKind] ?? 0) + 1;
  const totals = { sections: 0, runs: 0, acks: 0, effects: 0, calls: 0, stalls: 0, processes: 0 };
  for (const r of results) for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r.counts[k];
  return {
    seed: opts.seed,
    results,
    faults,
    violations: results.flatMap((r) => r.violations.map((v) => ({ ...v, seed: r.seed }))),
    errors: results.filter((r) => r.error).map((r) => ({ seed: r.seed, error: r.error ?? '' })),
    checks: CHECKS,
    totals,
    durationMs: performance.now() - started,
  };
}
