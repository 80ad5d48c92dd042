/**
 * @lota/org-lock against the popular Redis locks (redlock 4, redlock 5, the sesamecare fork of
 * redlock 5, redis-semaphore's Mutex), each peer with its default settings and with its most
 * aggressive retry settings, on one private redis-server, in one run.
 *
 * Fairness rules: every config locks one resource with a 30 s TTL through one shared ioredis
 * client per process (the repo's ioredis); the database is flushed before every case; the
 * critical section holds the lock ~1 ms (`await setTimeout(1)`) then releases.
 *
 * - Uncontended: one caller, N sequential acquire+release with an empty section (so timer
 *   granularity does not drown the lock's own cost), after a warm-up; the configs take turns in
 *   rounds of 100 calls (rotating order), so machine noise hits them alike.
 * - Contention: K contenders on one scope, each wanting SECTIONS sections, in this process or
 *   split over two child processes (`dist/lock-child.js`) started together on a wall-clock
 *   barrier; each run is capped at CAP_MS. One run per config and scenario.
 *
 * Redis work is counted twice: commands the clients send (`installCommandCounter`, the round
 * trips: EVALSHA = 1) and the server's `total_commands_processed` delta, which on Redis 7 also
 * counts each `redis.call()` inside a Lua script.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseInfo, startRedis } from '@lota/redis-testkit';
import { Redis } from 'ioredis';
import type { ChildParams } from '../lock-child.js';
import { commandsSent, excludeFromCount, installCommandCounter } from '../lock/command-counter.js';
import { CONFIGS, loadOurs, TTL_MS, type LockConfig, type Locker } from '../lock/configs.js';
import { contend, wallMs, warmUp, type ContendResult } from '../lock/contend.js';
import { percentile, row } from '../stats.js';
import type { BenchContext, Row, SuiteResult } from '../types.js';

const SUITE = 'lock';

const UNCONTENDED_ROUNDS = 15;
const UNCONTENDED_CHUNK = 100;
const UNCONTENDED_N = UNCONTENDED_ROUNDS * UNCONTENDED_CHUNK;
const UNCONTENDED_WARMUP = 200;

const CONTENDERS = [2, 10, 50] as const;
const PROCESSES = [1, 2] as const;
/** Sections each contender wants. */
const SECTIONS = 500;
const HOLD_MS = 1;
/** Wall-clock budget of one contention run; 6 scenarios x 9 configs stay under ~4 minutes. */
const CAP_MS = 3_000;
/** After the cap, how long contenders still inside an acquisition get to come back. */
const DRAIN_MS = 10_000;
/** Between the barrier message and the common start. */
const START_DELAY_MS = 150;
const CHILD_READY_TIMEOUT_MS = 30_000;
const CHILD_EXIT_TIMEOUT_MS = 5_000;
/** Ping-pongs per child to line its wall clock up with ours (the quickest one counts). */
const CLOCK_PINGS = 20;
/** Cross-process hand-offs quicker than this get a log line (one Redis round trip is ~30 µs or more). */
const TIGHT_HAND_OFF_US = 20;

const CHILD_SCRIPT = fileURLToPath(new URL('./lock-child.js', import.meta.url));
/** The goals' reference for starvation: redlock's own defaults. */
const REDLOCK_DEFAULT = 'redlock-v5 default';

interface Env {
  ctx: BenchContext;
  url: string;
  /** The one client every in-process config uses. */
  client: Redis;
  /** FLUSHALL and INFO only; left out of the client command count. */
  admin: Redis;
}

async function serverCommands(env: Env): Promise<number> {
  const value = Number(parseInfo(await env.admin.info('stats')).total_commands_processed);
  if (!Number.isFinite(value)) throw new Error('INFO stats has no total_commands_processed');
  return value;
}

/** total_commands_processed delta between two INFO reads, without the first INFO itself. */
const serverDelta = (before: number, after: number): number => after - before - 1;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---------------------------------------------------------------- uncontended

interface UncontendedStats {
  p50us: number;
  p99us: number;
  clientCmdsPerOp: number;
  serverCmdsPerOp: number;
}

/**
 * Every config gets UNCONTENDED_WARMUP untimed calls, then UNCONTENDED_ROUNDS rounds in which
 * each config (in a rotating order) does UNCONTENDED_CHUNK timed sequential calls: a noisy
 * moment on a shared machine hits every config alike instead of one config's whole run.
 */
async function uncontended(env: Env, configs: readonly LockConfig[]): Promise<Map<string, UncontendedStats>> {
  env.ctx.log(
    `uncontended: ${UNCONTENDED_N} sequential acquire+release per config, interleaved in ${UNCONTENDED_ROUNDS} rounds of ${UNCONTENDED_CHUNK} (+${UNCONTENDED_WARMUP} warm-up)`,
  );
  await env.admin.flushall();
  const empty = (): Promise<void> => Promise.resolve();
  const lockers = new Map<string, Locker>();
  try {
    for (const config of configs) {
      const locker = await config.create(env.client);
      lockers.set(config.id, locker);
      for (let i = 0; i < UNCONTENDED_WARMUP; i++) await locker.withLock(empty);
    }
    const acc = new Map(configs.map((c) => [c.id, { latencies: [] as number[], client: 0, server: 0 }]));
    for (let round = 0; round < UNCONTENDED_ROUNDS; round++) {
      const shift = round % configs.length;
      for (const config of [...configs.slice(shift), ...configs.slice(0, shift)]) {
        const locker = lockers.get(config.id);
        const into = acc.get(config.id);
        if (!locker || !into) continue;
        const server0 = await serverCommands(env);
        const client0 = commandsSent();
        for (let i = 0; i < UNCONTENDED_CHUNK; i++) {
          const t = process.hrtime.bigint();
          await locker.withLock(empty);
          into.latencies.push(Number(process.hrtime.bigint() - t) / 1e3);
        }
        into.client += commandsSent() - client0;
        into.server += serverDelta(server0, await serverCommands(env));
      }
    }
    const out = new Map<string, UncontendedStats>();
    for (const [id, a] of acc) {
      const n = a.latencies.length;
      out.set(id, { p50us: percentile(a.latencies, 50), p99us: percentile(a.latencies, 99), clientCmdsPerOp: a.client / n, serverCmdsPerOp: a.server / n });
    }
    return out;
  } finally {
    for (const locker of lockers.values()) await locker.close();
  }
}

// ---------------------------------------------------------------- contention

interface Scenario {
  contenders: number;
  processes: number;
}

const scenarioName = (s: Scenario): string => `${s.contenders} contenders, ${s.processes === 1 ? '1 process' : `${s.processes} processes`}`;

interface ContentionStats {
  sections: number;
  elapsedMs: number;
  perSec: number;
  waitP50ms: number;
  waitP99ms: number;
  waitMaxMs: number;
  minDone: number;
  maxDone: number;
  /** max/min sections per contender; Infinity when one got none. */
  fairness: number;
  clientCmdsPerSection: number;
  serverCmdsPerSection: number;
  failures: number;
  releaseErrors: number;
  /** Sections that started before the previous one (by wall clock, across processes) ended. */
  overlaps: number;
  /** Gaps between one section's end and the next one's start (µs; negative = overlap): the hand-off time. */
  gapP50us: number;
  minGapUs: number;
  undrained: number;
  errorSamples: string[];
}

function summarize(results: readonly ContendResult[], startAt: number, serverCmds: number): ContentionStats {
  const completed = results.flatMap((r) => r.completed);
  const sections = completed.reduce((a, b) => a + b, 0);
  const closedAt = Math.max(...results.map((r) => r.closedAt));
  const elapsedMs = closedAt - startAt;
  const waits = results.flatMap((r) => r.waitsMs);
  const minDone = Math.min(...completed);
  const maxDone = Math.max(...completed);
  const intervals = results.flatMap((r) => r.intervals).sort((a, b) => a[0] - b[0]);
  let overlaps = 0;
  const gapsUs: number[] = [];
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const [start, end] of intervals) {
    if (lastEnd !== Number.NEGATIVE_INFINITY) {
      gapsUs.push((start - lastEnd) * 1e3);
      if (start < lastEnd) overlaps++;
    }
    lastEnd = Math.max(lastEnd, end);
  }
  const clientCmds = results.reduce((a, r) => a + (r.commandsAtClose - r.commandsAtStart), 0);
  return {
    sections,
    elapsedMs,
    perSec: sections / (elapsedMs / 1000),
    waitP50ms: percentile(waits, 50),
    waitP99ms: percentile(waits, 99),
    waitMaxMs: waits.length === 0 ? Number.NaN : waits.reduce((a, b) => Math.max(a, b), 0),
    minDone,
    maxDone,
    fairness: minDone === 0 ? (maxDone === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : maxDone / minDone,
    clientCmdsPerSection: clientCmds / sections,
    serverCmdsPerSection: serverCmds / sections,
    failures: results.reduce((a, r) => a + r.failures, 0),
    releaseErrors: results.reduce((a, r) => a + r.releaseErrors, 0),
    overlaps: Math.max(overlaps, results.reduce((a, r) => a + r.overlapsInProcess, 0)),
    gapP50us: percentile(gapsUs, 50),
    minGapUs: gapsUs.length === 0 ? Number.NaN : gapsUs.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
    undrained: results.reduce((a, r) => a + r.undrained, 0),
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))],
  };
}

async function contendInProcess(env: Env, config: LockConfig, contenders: number): Promise<ContentionStats> {
  const locker = await config.create(env.client);
  try {
    await warmUp(locker);
    const server0 = await serverCommands(env);
    let server1: Promise<number> | undefined;
    const startAt = wallMs() + START_DELAY_MS;
    const result = await contend(locker, {
      contenders,
      sections: SECTIONS,
      holdMs: HOLD_MS,
      startAt,
      deadline: startAt + CAP_MS,
      drainMs: DRAIN_MS,
      onWindowClose: () => {
        server1 = serverCommands(env);
      },
    });
    if (!server1) throw new Error('the contention window never closed');
    return summarize([result], startAt, serverDelta(server0, await server1));
  } finally {
    await locker.close();
  }
}

// ---------------------------------------------------------------- child processes

interface Child {
  ready: Promise<void>;
  closed: Promise<void>;
  result: Promise<ContendResult>;
  exited: Promise<void>;
  go(startAt: number, deadline: number): void;
  /** What the child wrote to stderr so far (a lock library's warnings, say). */
  stderr(): string;
  /** The child's wall clock minus ours (ms), from the quickest of a few ping-pongs. */
  clockOffset(): Promise<number>;
  kill(): void;
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(err: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function startChild(env: Env, params: ChildParams): Child {
  const proc: ChildProcess = spawn(process.execPath, [CHILD_SCRIPT, JSON.stringify(params)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const ready = deferred<undefined>();
  const closed = deferred<undefined>();
  const result = deferred<ContendResult>();
  const exited = deferred<undefined>();
  let clockReply: ((t: number) => void) | undefined;
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  proc.stdin?.on('error', () => undefined); // the child died already: reported through 'exit'
  if (proc.stdout) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        env.ctx.log(`lock child said: ${line}`);
        return;
      }
      if (!isRecord(message)) return;
      if (message.type === 'ready') ready.resolve(undefined);
      else if (message.type === 'closed') closed.resolve(undefined);
      else if (message.type === 'clock' && typeof message.t === 'number') clockReply?.(message.t);
      else if (message.type === 'result' && isRecord(message.result)) result.resolve(message.result as unknown as ContendResult);
    });
  }
  const failed = (why: string): void => {
    const err = new Error(`lock child (${params.configId}) ${why}${stderr ? `: ${stderr.trim()}` : ''}`);
    ready.reject(err);
    closed.reject(err);
    result.reject(err);
  };
  proc.on('error', (err) => failed(`could not start: ${err.message}`));
  proc.on('exit', (code, signal) => {
    failed(`exited (${signal ?? String(code)}) before reporting`);
    exited.resolve(undefined);
  });
  return {
    ready: ready.promise,
    closed: closed.promise,
    result: result.promise,
    exited: exited.promise,
    go(startAt, deadline) {
      proc.stdin?.write(`${JSON.stringify({ type: 'go', startAt, deadline })}\n`);
    },
    stderr: () => stderr,
    async clockOffset() {
      let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
      for (let i = 0; i < CLOCK_PINGS; i++) {
        const t0 = wallMs();
        const reply = new Promise<number>((resolve) => (clockReply = resolve));
        proc.stdin?.write('{"type":"clock"}\n');
        const t = await within(reply, CHILD_READY_TIMEOUT_MS, 'a clock reply');
        const t1 = wallMs();
        if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: t - (t0 + t1) / 2 };
      }
      clockReply = undefined;
      return best.offset;
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function contendInTwoProcesses(env: Env, config: LockConfig, contenders: number): Promise<ContentionStats> {
  const split = [Math.ceil(contenders / 2), Math.floor(contenders / 2)];
  const children = split.map((n) =>
    startChild(env, { url: env.url, configId: config.id, contenders: n, sections: SECTIONS, holdMs: HOLD_MS, drainMs: DRAIN_MS }),
  );
  try {
    await within(Promise.all(children.map((c) => c.ready)), CHILD_READY_TIMEOUT_MS, 'the children to be ready');
    // The overlap check compares wall clocks across processes: measure each child's offset and
    // take it out (the children's own timestamps stay in their clock, startAt/deadline in ours).
    const offsets: number[] = [];
    for (const child of children) offsets.push(await child.clockOffset());
    if (offsets.some((o) => Math.abs(o) > 0.05)) env.ctx.log(`  ${config.id}: child clock offsets ${offsets.map((o) => `${(o * 1e3).toFixed(0)} µs`).join(', ')} (corrected)`);
    const server0 = await serverCommands(env);
    const startAt = wallMs() + START_DELAY_MS;
    for (const child of children) child.go(startAt, startAt + CAP_MS);
    const budget = START_DELAY_MS + CAP_MS + DRAIN_MS + CHILD_READY_TIMEOUT_MS;
    await within(Promise.all(children.map((c) => c.closed)), budget, 'the children to close the window');
    const server1 = await serverCommands(env);
    const results = await within(Promise.all(children.map((c) => c.result)), budget, 'the children to report');
    await within(Promise.all(children.map((c) => c.exited)), CHILD_EXIT_TIMEOUT_MS, 'the children to exit').catch((err: unknown) => {
      env.ctx.log(`WARNING: ${config.id}: ${errorText(err)}; killing them`);
    });
    for (const child of children) {
      const said = child.stderr().trim();
      if (said) env.ctx.log(`  ${config.id} child stderr: ${said.slice(0, 2_000)}`);
    }
    const aligned = results.map((r, i): ContendResult => {
      const offset = offsets[i] ?? 0;
      return { ...r, intervals: r.intervals.map(([start, end]): [number, number] => [start - offset, end - offset]) };
    });
    noteTightHandOffs(env, config, aligned, offsets);
    return summarize(aligned, startAt, serverDelta(server0, server1));
  } finally {
    for (const child of children) child.kill();
  }
}

/** A hand-off faster than a Redis round trip cannot be real: log it (a clock glitch, or a near-overlap). */
function noteTightHandOffs(env: Env, config: LockConfig, results: readonly ContendResult[], offsets: readonly number[]): void {
  const all = results.flatMap((r, child) => r.intervals.map(([start, end]) => ({ start, end, child }))).sort((a, b) => a.start - b.start);
  for (let i = 1; i < all.length; i++) {
    const prev = all[i - 1];
    const next = all[i];
    if (!prev || !next) continue;
    const gapUs = (next.start - prev.end) * 1e3;
    if (gapUs < TIGHT_HAND_OFF_US) {
      env.ctx.log(
        `  NOTE: ${config.id}: section ${i} (process ${next.child}) started ${gapUs.toFixed(1)} µs after section ${i - 1} (process ${prev.child}) ended ` +
          `(clock offsets ${offsets.map((o) => `${(o * 1e3).toFixed(1)} µs`).join(', ')})`,
      );
    }
  }
}

async function contention(env: Env, config: LockConfig, scenario: Scenario): Promise<ContentionStats> {
  await env.admin.flushall();
  const stats =
    scenario.processes === 1 ? await contendInProcess(env, config, scenario.contenders) : await contendInTwoProcesses(env, config, scenario.contenders);
  env.ctx.log(
    `  ${config.id.padEnd(30)} ${stats.perSec.toFixed(0).padStart(5)} sections/s, wait p99 ${stats.waitP99ms.toFixed(1)} ms, max ${stats.waitMaxMs.toFixed(0)} ms, ` +
      `done ${stats.minDone}-${stats.maxDone}, ${stats.clientCmdsPerSection.toFixed(1)} cmds/section, ${stats.failures} failed, ${stats.overlaps} overlaps`,
  );
  if (stats.undrained > 0) env.ctx.log(`  WARNING: ${config.id}: ${stats.undrained} contenders still inside an acquisition ${DRAIN_MS} ms after the cap`);
  if (stats.releaseErrors > 0 || stats.overlaps > 0) env.ctx.log(`  NOTE: ${config.id}: ${stats.releaseErrors} release errors; errors seen: ${stats.errorSamples.join(' | ')}`);
  return stats;
}

// ---------------------------------------------------------------- rows and tables

const NOT_AVAILABLE = Number.NaN;

function fmt(value: number, digits = 1): string {
  if (Number.isNaN(value)) return 'n/a';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

interface Measured {
  uncontended: Map<string, UncontendedStats>;
  contention: Array<{ scenario: Scenario; stats: Map<string, ContentionStats> }>;
  oursMissing?: string;
}

function uncontendedRows(m: Measured, peers: readonly LockConfig[]): Row[] {
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

function contentionRows(scenario: Scenario, stats: Map<string, ContentionStats>, peers: readonly LockConfig[]): Row[] {
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
function withoutVerdictWhenMissing(r: Row): Row {
  if (!Number.isNaN(r.value)) return r;
  const { ok: _ok, ...rest } = r;
  return rest;
}

function correctnessRow(m: Measured): Row {
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

function peerTables(m: Measured, configs: readonly LockConfig[]): string {
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

// ---------------------------------------------------------------- suite

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  installCommandCounter();
  const loaded = await loadOurs();
  const oursMissing = loaded instanceof Error ? loaded.message : undefined;
  if (oursMissing !== undefined) ctx.log(`WARNING: @lota/org-lock cannot be loaded (${oursMissing}); our rows will say "not available"`);
  const configs = CONFIGS.filter((c) => !c.ours || oursMissing === undefined);
  const peers = CONFIGS.filter((c) => !c.ours);

  const server = await startRedis();
  const client = new Redis(server.url, { maxRetriesPerRequest: null });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  excludeFromCount(admin);
  client.on('error', () => undefined);
  admin.on('error', () => undefined);
  try {
    await ctx.noteServer(server);
    await Promise.all([client.ping(), admin.ping()]);
    const env: Env = { ctx, url: server.url, client, admin };
    ctx.log(`configs: ${configs.map((c) => c.id).join(', ')}; TTL ${TTL_MS} ms`);

    const measured: Measured = { uncontended: await uncontended(env, configs), contention: [], ...(oursMissing === undefined ? {} : { oursMissing }) };
    for (const processes of PROCESSES) {
      for (const contenders of CONTENDERS) {
        const scenario: Scenario = { contenders, processes };
        ctx.log(`contention: ${scenarioName(scenario)}, ${SECTIONS} sections each, cap ${CAP_MS} ms`);
        const stats = new Map<string, ContentionStats>();
        for (const config of configs) {
          try {
            stats.set(config.id, await contention(env, config, scenario));
          } catch (err) {
            ctx.log(`  ${config.id}: could not run: ${errorText(err)}`);
          }
        }
        measured.contention.push({ scenario, stats });
      }
    }

    const rows = [...uncontendedRows(measured, peers)];
    for (const { scenario, stats } of measured.contention) rows.push(...contentionRows(scenario, stats, peers));
    rows.push(correctnessRow(measured));
    return { rows: rows.map(withoutVerdictWhenMissing), extraMarkdown: peerTables(measured, CONFIGS) };
  } finally {
    client.disconnect();
    admin.disconnect();
    await server.dispose();
  }
}
