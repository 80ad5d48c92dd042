// The CI-sized fault campaign (about a minute) and the self-check that its detectors fire.
import { testkitCapabilities } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { runCampaign, runSchedule, planSchedule } from '../src/index.js';
import { startRedis } from '@lota/redis-testkit';
import { fileURLToPath } from 'node:url';

const caps = await testkitCapabilities();
const log = (line: string): void => console.log(`[chaos] ${line}`);

describe.skipIf(!caps.control)('fault campaign', () => {
  it('a CI-sized run: every schedule keeps every guarantee (replay a failure with the printed seed)', async () => {
    const report = await runCampaign({ schedules: 40, seed: 1, budgetMs: 50_000, log });
    const faults = Object.entries(report.faults).map(([k, n]) => `${k} ${n}`).join(', ');
    log(`${report.results.length} schedules, ${report.violations.length} violations; faults: ${faults}`);
    expect(report.errors).toEqual([]);
    expect(report.violations.map((v) => `seed ${v.seed} [${v.check}] ${v.message}`)).toEqual([]);
    expect(report.results.length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(report.faults).length).toBeGreaterThanOrEqual(6); // a real mix, not one fault over and over
    expect(report.totals.sections).toBeGreaterThan(500);
    expect(report.totals.acks).toBeGreaterThan(100);
  }, 170_000);

  it('self-check: with the lock bypassed the same schedule is caught (lock-exclusion violations)', async () => {
    const store = await startRedis();
    try {
      const r = await runSchedule(planSchedule(7, { only: ['worker-block'] }), {
        workerScript: fileURLToPath(new URL('../dist/worker.js', import.meta.url)),
        storeUrl: store.url,
        unsafeNoLock: true,
      });
      expect(r.error).toBeUndefined();
      expect(r.violations.filter((v) => v.check === 'lock-exclusion').length).toBeGreaterThan(0);
    } finally {
      await store.dispose();
    }
  }, 60_000);
});
