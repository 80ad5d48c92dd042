/**
 * The fairness suite's worker processes (`dist/fairness-child.js`, see child.ts): started per
 * run, ready before the first job is enqueued, stopped once every job is done (or at the cap).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deferred, isRecord, watchChildEnd, within } from '../async.js';
import type { BenchContext } from '../types.js';
import type { ChildParams } from './child.js';
import type { SlotMeter } from './workload.js';

const READY_TIMEOUT_MS = 30_000;
/** Active jobs finish within a model call and a lock wait; BullMQ's close is bounded at 10 s in the child. */
const RESULT_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;

/** Next to the bundled main.js (tsup's `fairness-child` entry). */
const CHILD_SCRIPT = fileURLToPath(new URL('./fairness-child.js', import.meta.url));

/** One completed job, as a worker process reported it. */
export interface Completion {
  turnId: string;
  orgId: string;
  /** The parent's Date.now() right before the enqueue call. */
  enqueuedAt: number;
  /** The worker's Date.now() when BullMQ reported the job completed. */
  completedAt: number;
}

export interface Workers {
  /** Stops every worker process (they finish their active jobs) and returns their meters. */
  stop(): Promise<SlotMeter[]>;
  /** SIGKILLs whatever is still running; safe to call at any time. */
  kill(): void;
}

export interface WorkerEvents {
  onCompleted(done: Completion): void;
  onFailed(message: string): void;
}

function isCompletion(m: Record<string, unknown>): boolean {
  return m.type === 'done' && typeof m.turn === 'string' && typeof m.org === 'string' && typeof m.enq === 'number' && typeof m.at === 'number';
}

function startOne(ctx: BenchContext, params: ChildParams, index: number, events: WorkerEvents) {
  const proc = spawn(process.execPath, [CHILD_SCRIPT, JSON.stringify(params)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const ready = deferred<undefined>();
  const result = deferred<SlotMeter>();
  const exited = deferred<undefined>();
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  proc.stdin.on('error', () => undefined); // the child died already: reported through 'exit'
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      ctx.log(`  worker ${index} said: ${line}`);
      return;
    }
    if (!isRecord(message)) return;
    if (isCompletion(message)) {
      events.onCompleted({ turnId: String(message.turn), orgId: String(message.org), enqueuedAt: Number(message.enq), completedAt: Number(message.at) });
    } else if (message.type === 'failed') events.onFailed(String(message.message));
    else if (message.type === 'ready') ready.resolve(undefined);
    else if (message.type === 'result' && isRecord(message.meter)) result.resolve(message.meter as unknown as SlotMeter);
  });
  watchChildEnd(proc, `fairness worker ${index}`, () => stderr, [ready, result], exited);
  return {
    ready: ready.promise,
    result: result.promise,
    exited: exited.promise,
    stderr: () => stderr,
    stop: () => void proc.stdin.write('{"type":"stop"}\n'),
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

/** Starts `processes` worker processes of `params.side` and resolves once all of them take jobs. */
export async function startWorkers(ctx: BenchContext, params: ChildParams, processes: number, events: WorkerEvents): Promise<Workers> {
  const children = Array.from({ length: processes }, (_, i) => startOne(ctx, params, i, events));
  const kill = (): void => {
    for (const child of children) child.kill();
  };
  try {
    await within(Promise.all(children.map((c) => c.ready)), READY_TIMEOUT_MS, 'the worker processes to be ready');
  } catch (err) {
    kill();
    throw err;
  }
  return {
    kill,
    async stop() {
      for (const child of children) child.stop();
      const meters = await within(Promise.all(children.map((c) => c.result)), RESULT_TIMEOUT_MS, 'the worker processes to report');
      await within(Promise.all(children.map((c) => c.exited)), EXIT_TIMEOUT_MS, 'the worker processes to exit').catch((err: unknown) => {
        ctx.log(`WARNING: ${err instanceof Error ? err.message : String(err)}; killing them`);
      });
      for (const [i, child] of children.entries()) {
        const said = child.stderr().trim();
        if (said) ctx.log(`  worker ${i} stderr: ${said.slice(0, 2_000)}`);
      }
      return meters;
    },
  };
}
