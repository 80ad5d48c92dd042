/** The lock suite's rows (ours against the best peer) and its table of every config. */
import type { LockConfig } from './configs.js';
import { SUITE } from './env.js';
import { CAP_MS, HOLD_MS, scenarioName, SECTIONS, type ContentionStats, type Scenario } from './scenarios.js';
import { UNCONTENDED_CHUNK, UNCONTENDED_N, UNCONTENDED_ROUNDS, type UncontendedStats } from './uncontended.js';
import { row } from '../stats.js';
import type { Row } from '../types.js';

/** The goals' reference for starvation: redlock's own defaults. */
const REDLOCK_DEFAULT = 'redlock-v5 default';

const NOT_AVAILABLE = Number.NaN;

function fmt(value: number, digits = 1): string {
  if (Number.isNaN(value)) return 'n/a';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface Measured {
  uncontended: Map<string, UncontendedStats>;
  contention: Array<{ scenario: Scenario; stats: Map<string, ContentionStats> }>;
  oursMissing?: string;
}

export function uncontendedRows(m: Measured, peers: readonly LockConfig[]): Row[] {
  const fastest = peers
    .map((p) => ({ id: p.id, stats: m.uncontended.get(p.id) }))
    .filter((p): p is { id: string; stats: UncontendedStats } => p.stats !== undefined)
    .sort((a, b) => a.stats.p50us - b.stats.p50us)[0];
  if (!fastest) return [];
  const ours = m.uncontended.get('ours');
  const base = { suite: SUITE, case: `uncontended acquire+release, ${UNCONTENDED_N} sequential`, anchorName: `fastest peer: ${fastest.id}` };
  const p50 = row({ ...base, metric: 'p50 latency', unit: 'µs', value: ours?.p50us ?? NOT_AVAILABLE, anchorValue: fastest.stats.p50us, better: 'lower', goal: '<= 1.2x fastest peer' }, 0.2);
  return [
    p50,
    row({ ...base, metric: 'p99 latency', unit: 'µs', value: ours?.p99us ?? NOT_AVAILABLE, anchorValue: fastest.stats.p99us, better: 'lower' }),
    row({ ...base, metric: 'round trips (client commands) per acquire+release', unit: 'cmds', value: ours?.clientCmdsPerOp ?? NOT_AVAILABLE, anchorValue: fastest.stats.clientCmdsPerOp, better: 'lower' }),
  ];
}

export function contentionRows(scenario: Scenario, stats: Map<string, ContentionStats>, peers: readonly LockConfig[]): Row[] {
  const best = peers
    .map((p) => ({ id: p.id, stats: stats.get(p.id) }))
    .filter((p): p is { id: string; stats: ContentionStats } => p.stats !== undefined)
    .sort((a, b) => b.stats.perSec - a.stats.perSec)[0];
  if (!best) return [];
  const ours = stats.get('ours');
  const available = ours !== undefined;
  const redlockDefault = stats.get(REDLOCK_DEFAULT);
  const caseName = `contention: ${scenarioName(scenario)}, ${SECTIONS} sections each, ${CAP_MS / 1000} s cap`;
  const base = { suite: SUITE, case: caseName, anchorName: `best peer: ${best.id}` };
  const throughput = row({ ...base, metric: 'throughput', unit: 'sections/s', value: ours?.perSec ?? NOT_AVAILABLE, anchorValue: best.stats.perSec, better: 'higher', goal: '>= 0.9x best peer' }, 0.1);
  const rows: Row[] = [throughput];
  if (redlockDefault) {
    const p99 = row({
      suite: SUITE,
      case: caseName,
      anchorName: REDLOCK_DEFAULT,
      metric: 'p99 wait per section',
      unit: 'ms',
      value: ours?.waitP99ms ?? NOT_AVAILABLE,
      anchorValue: redlockDefault.waitP99ms,
      better: 'lower',
      ...(scenario.contenders >= 10 ? { goal: `>= 10x lower than ${REDLOCK_DEFAULT}` } : {}),
    });
    if (scenario.contenders >= 10) p99.ok = available && p99.ratio <= 0.1;
    rows.push(p99);
    // Per-section percentiles hide starvation (a starved contender adds one sample); the longest wait does not.
    rows.push(
      row({ suite: SUITE, case: caseName, anchorName: REDLOCK_DEFAULT, metric: 'max wait', unit: 'ms', value: ours?.waitMaxMs ?? NOT_AVAILABLE, anchorValue: redlockDefault.waitMaxMs, better: 'lower' }),
    );
  }
  const fairness = row({ ...base, metric: 'fairness (max/min sections per contender)', unit: 'max/min', value: ours?.fairness ?? NOT_AVAILABLE, anchorValue: best.stats.fairness, better: 'lower', goal: '<= 3' });
  fairness.ok = available && ours.fairness <= 3;
  rows.push(fairness);
  const cmds = row({
    ...base,
    metric: 'Redis commands per section (client-sent)',
    unit: 'cmds',
    value: ours?.clientCmdsPerSection ?? NOT_AVAILABLE,
    anchorValue: best.stats.clientCmdsPerSection,
    better: 'lower',
    ...(scenario.contenders === 50 ? { goal: '<= 10' } : {}),
  });
  if (scenario.contenders === 50) cmds.ok = available && ours.clientCmdsPerSection <= 10;
  rows.push(cmds);
  return rows;
}

/** A row whose value is "not available" gets no ok/NO. */
export function withoutVerdictWhenMissing(r: Row): Row {
  if (!Number.isNaN(r.value)) return r;
  const { ok: _ok, ...rest } = r;
  return rest;
}

export function correctnessRow(m: Measured): Row {
  let ours = 0;
  let peers = 0;
  for (const { stats } of m.contention) {
    for (const [id, s] of stats) {
      if (id === 'ours') ours += s.overlaps;
      else peers += s.overlaps;
    }
  }
  const value = m.oursMissing === undefined ? ours : NOT_AVAILABLE;
  const out = row({ suite: SUITE, case: 'correctness: every contention run', metric: 'overlapping holders', unit: 'overlaps', value, anchorName: 'all peer runs (sum)', anchorValue: peers, better: 'lower', goal: '0' });
  out.ok = value === 0;
  return out;
}

export function peerTables(m: Measured, configs: readonly LockConfig[]): string {
  const lines: string[] = ['## lock: every config', ''];
  if (m.oursMissing !== undefined) lines.push(`**@lota/org-lock not available** (${m.oursMissing}): our rows say "not available".`, '');
  lines.push('| config | library | settings |', '| --- | --- | --- |');
  for (const c of configs) lines.push(`| ${c.id} | ${c.library} | ${c.settings} |`);
  lines.push(
    '',
    `Uncontended: one caller, ${UNCONTENDED_N} sequential acquire+release (empty section) per config, interleaved with the other configs in ${UNCONTENDED_ROUNDS} rounds of ${UNCONTENDED_CHUNK}. ` +
      '"client cmds" = commands the ioredis clients sent (round trips; EVALSHA = 1); "server cmds" = `total_commands_processed` delta, which on Redis 7 also counts every `redis.call()` inside a Lua script.',
    '',
    '| config | p50 µs | p99 µs | client cmds / op | server cmds / op |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const c of configs) {
    const s = m.uncontended.get(c.id);
    lines.push(s ? `| ${c.id} | ${fmt(s.p50us, 0)} | ${fmt(s.p99us, 0)} | ${fmt(s.clientCmdsPerOp, 2)} | ${fmt(s.serverCmdsPerOp, 2)} |` : `| ${c.id} | not available | | | |`);
  }
  lines.push(
    '',
    `Contention: K contenders on one scope, each wanting ${SECTIONS} sections of ~${HOLD_MS} ms, capped at ${CAP_MS / 1000} s; one run per config. ` +
      'Wait = from wanting the lock to getting it (a contender still waiting at the cap counts its wait so far; a redlock give-up keeps waiting). ' +
      'Fairness = max/min sections per contender (∞: some contender got none). Failed = acquisitions that timed out or gave up inside the window. ' +
      'Overlaps = sections that started before another ended (wall clock, across processes); hand-off gap = from one section\'s end to the next one\'s start (release + the next holder getting it), median and smallest.',
    '',
    '| scenario | config | sections/s | sections | wait p50 ms | wait p99 ms | wait max ms | fairness (min-max done) | client cmds / section | server cmds / section | failed acq. | overlaps | hand-off gap p50 / min µs |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const { scenario, stats } of m.contention) {
    for (const c of configs) {
      const s = stats.get(c.id);
      if (!s) {
        lines.push(`| ${scenarioName(scenario)} | ${c.id} | not available | | | | | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${scenarioName(scenario)} | ${c.id} | ${fmt(s.perSec, 0)} | ${s.sections} | ${fmt(s.waitP50ms, 2)} | ${fmt(s.waitP99ms, 1)} | ${fmt(s.waitMaxMs, 0)} | ${fmt(s.fairness, 2)} (${s.minDone}-${s.maxDone}) | ` +
          `${fmt(s.clientCmdsPerSection, 1)} | ${fmt(s.serverCmdsPerSection, 1)} | ${s.failures} | ${s.overlaps} | ${fmt(s.gapP50us, 0)} / ${fmt(s.minGapUs, 0)} |`,
      );
    }
  }
  lines.push(
    '',
    `Contention rows are single runs (${CAP_MS / 1000} s each), not medians. Wait percentiles are per section, so they weigh contenders by how many ` +
      'sections they completed: a starved contender adds one long wait, a greedy one hundreds of short ones; read p99 together with max wait and fairness.',
  );
  return lines.join('\n');
}
