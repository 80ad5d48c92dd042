/**
 * The lock suite's 2-process cases: two child processes (`dist/lock-child.js`, see child.ts),
 * their clocks lined up with ours, started together on a wall-clock barrier.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deferred, isRecord, watchChildEnd, within } from '../async.js';
import type { ChildParams } from './child.js';
import type { LockConfig } from './configs.js';
import { wallMs, type ContendResult } from './contend.js';
import { errorText, serverCommands, serverDelta, type Env } from './env.js';
import { CAP_MS, DRAIN_MS, HOLD_MS, SECTIONS, START_DELAY_MS, summarize, type ContentionStats } from './scenarios.js';

const CHILD_READY_TIMEOUT_MS = 30_000;
const CHILD_EXIT_TIMEOUT_MS = 5_000;
/** Ping-pongs per child to line its wall clock up with ours (the quickest one counts). */
const CLOCK_PINGS = 20;
/** Cross-process hand-offs quicker than this get a log line (one Redis round trip is ~30 µs or more). */
const TIGHT_HAND_OFF_US = 20;

/** Next to the bundled main.js (tsup's `lock-child` entry). */
const CHILD_SCRIPT = fileURLToPath(new URL('./lock-child.js', import.meta.url));

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
  watchChildEnd(proc, `lock child (${params.configId})`, () => stderr, [ready, closed, result], exited);
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

export async function contendInTwoProcesses(env: Env, config: LockConfig, contenders: number): Promise<ContentionStats> {
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
