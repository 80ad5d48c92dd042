/**
 * The fault campaign: `pnpm chaos --schedules 200 --seed 42`. Runs seeded schedules one after
 * another, prints each schedule's verdict (and how to replay a failing one), writes the report
 * next to the bench results, and ends with one line: `N schedules, N violations`. Exits 1 when
 * a guarantee was broken (or a schedule could not run), 2 on a bad option.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCampaign } from './campaign.js';
import { renderReport } from './report.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

const USAGE = `usage: pnpm chaos [--schedules N] [--seed N] [--only kind,kind] [--report FILE] [--unsafe-no-lock]
  --schedules N   schedules to run (default 20); schedule i uses seed + i
  --seed N        first seed (default: random, printed)
  --only K,K      only these faults: ${FAULT_KINDS.join(', ')}
  --report FILE   where the Markdown report goes (default tooling/bench/results/chaos-latest.md)
  --unsafe-no-lock  self-check: sections run without the lock; the run must report violations`;

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let schedules = 20;
let seed = Math.floor(Math.random() * 1_000_000);
let only: FaultKind[] | undefined;
let report = fileURLToPath(new URL('../../bench/results/chaos-latest.md', import.meta.url));
let unsafeNoLock = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = (): string => args[++i] ?? fail(`${a} needs a value`);
  if (a === '--schedules') schedules = Number(value());
  else if (a === '--seed') seed = Number(value());
  else if (a === '--only') only = value().split(',') as FaultKind[];
  else if (a === '--report') report = value();
  else if (a === '--unsafe-no-lock') unsafeNoLock = true;
  else if (a === '--help' || a === '-h') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  } else fail(`unknown option ${a}`);
}
if (!Number.isInteger(schedules) || schedules < 1) fail('--schedules must be a whole number >= 1');
if (!Number.isInteger(seed) || seed < 0) fail('--seed must be a whole number >= 0');
if (only?.some((k) => !(FAULT_KINDS as readonly string[]).includes(k))) fail(`--only takes fault kinds from: ${FAULT_KINDS.join(', ')}`);

const log = (line: string): void => void process.stderr.write(`[chaos] ${line}\n`);
log(`${schedules} schedules from seed ${seed}${only ? ` (only ${only.join(', ')})` : ''}`);
const artifactsDir = join(dirname(report), 'chaos-failures');
const result = await runCampaign({ schedules, seed, ...(only ? { only } : {}), unsafeNoLock, log, artifactsDir });
const command = `pnpm chaos --schedules ${schedules} --seed ${seed}${only ? ` --only ${only.join(',')}` : ''}${unsafeNoLock ? ' --unsafe-no-lock' : ''}`;
mkdirSync(dirname(report), { recursive: true });
writeFileSync(report, renderReport(result, command));
log(`report: ${report}`);
for (const v of result.violations) process.stdout.write(`VIOLATION seed ${v.seed} [${v.check}] ${v.message}\n`);
for (const e of result.errors) process.stdout.write(`ERROR seed ${e.seed}: ${e.error.split('\n')[0] ?? ''}\n`);
process.stdout.write(`${result.results.length} schedules, ${result.violations.length} violations\n`);
process.exitCode = result.violations.length > 0 || result.errors.length > 0 ? 1 : 0;
