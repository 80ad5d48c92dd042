import { spawn, type ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Redis } from 'ioredis';
import { WORKER_CONFIG_ENV, WORKER_NAME_ENV, type WorkerConfig, type WorkerMessage } from './config.js';
import type { SoakKeys } from './keys.js';
import { MARK_DEAD } from './scripts.js';

export type MemMessage = Extract<WorkerMessage, { event: 'mem' }>;

/** One worker process the driver started, from spawn to exit. */
export interface WorkerProc {
  name: string;
  /** Position in the fleet; a replacement takes its victim's slot. */
  slot: number;
  /** Never chosen as a victim (--protect). */
  protected: boolean;
  pid: number | undefined;
  child: ChildProcess;
  startedAt: number;
  readyAt: number | undefined;
  exitedAt: number | undefined;
  /** When the driver sent SIGTERM at the end (graceful stop). */
  stopRequestedAt: number | undefined;
  /** Redis time (µs) at which the driver marked the process dead, right after its 'exit'. */
  deathUs: number | undefined;
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  /** Why it ended: killed by the chaos loop, stopped at the end, or died by itself. */
  fate: 'running' | 'killed' | 'stopped' | 'crashed';
  samples: MemMessage[];
  ready: Promise<void>;
  exited: Promise<void>;
}

export interface LogCounts {
  /** "<level> <msg>" -> lines. */
  byMessage: Map<string, number>;
  /** Lines that were not JSON (stack traces of a crash, and the like). */
  raw: number;
}

export interface FleetOptions {
  script: string;
  config: WorkerConfig;
  admin: Redis;
  keys: SoakKeys;
  /** Every worker stderr line goes here, prefixed with the worker's name. */
  log: WriteStream;
  /** Told about each process that exits on its own (not killed or stopped by the driver). */
  onCrash?: (proc: WorkerProc) => void;
}

/**
 * The worker processes: spawns them (`node --expose-gc dist/worker.js`, in their own process
 * group so a terminal Ctrl-C reaches only the driver, with stdin as a pipe so they exit when the
 * driver dies), reads their memory reports, SIGKILLs victims, and marks every exit in Redis for
 * the lock probe.
 */
export class Fleet {
  readonly all: WorkerProc[] = [];
  readonly logCounts: LogCounts = { byMessage: new Map(), raw: 0 };
  private seq = 0;

  constructor(private readonly opts: FleetOptions) {}

  alive(): WorkerProc[] {
    return this.all.filter((p) => p.exitedAt === undefined);
  }

  start(slot: number, isProtected: boolean): WorkerProc {
    const name = `w${++this.seq}`;
    const child = spawn(process.execPath, ['--expose-gc', this.opts.script], {
      env: { ...process.env, [WORKER_NAME_ENV]: name, [WORKER_CONFIG_ENV]: JSON.stringify(this.opts.config) },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let onReady: () => void = () => undefined;
    let onNotReady: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onNotReady = reject;
    });
    ready.catch(() => undefined);
    const proc: WorkerProc = {
      name,
      slot,
      protected: isProtected,
      pid: child.pid,
      child,
      startedAt: Date.now(),
      readyAt: undefined,
      exitedAt: undefined,
      stopRequestedAt: undefined,
      deathUs: undefined,
      exitCode: null,
      exitSignal: null,
      fate: 'running',
      samples: [],
      ready,
      exited: Promise.resolve(),
    };
    proc.exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (proc.exitedAt !== undefined) return;
        proc.exitedAt = Date.now();
        proc.exitCode = code;
        proc.exitSignal = signal;
        if (proc.fate === 'running') {
          proc.fate = 'crashed';
          this.opts.onCrash?.(proc);
        }
        onNotReady(new Error(`${name} exited (code ${String(code)}, signal ${String(signal)}) before it was ready`));
        // Tell the probe this process's open lock section (if any) ended with it.
        this.opts.admin
          .eval(MARK_DEAD, 2, this.opts.keys.dead, this.opts.keys.deaths, name)
          .then((us) => (proc.deathUs = Number(us)))
          .catch(() => undefined)
          .finally(resolve);
      };
      child.once('exit', done);
      child.once('error', () => done(null, null));
    });
    child.stdin?.on('error', () => undefined); // EPIPE after the child died
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let msg: WorkerMessage;
      try {
        msg = JSON.parse(line) as WorkerMessage;
      } catch {
        this.opts.log.write(`[${name} stdout] ${line}\n`);
        return;
      }
      if (msg.event === 'ready') {
        proc.readyAt = Date.now();
        onReady();
      } else if (msg.event === 'mem') {
        proc.samples.push(msg);
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      this.opts.log.write(`[${name}] ${line}\n`);
      try {
        const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
        const key = `${String(entry.level)} ${String(entry.msg)}`;
        this.logCounts.byMessage.set(key, (this.logCounts.byMessage.get(key) ?? 0) + 1);
      } catch {
        this.logCounts.raw++;
      }
    });
    this.all.push(proc);
    return proc;
  }

  /** SIGKILL, then wait until the exit is seen and marked in Redis. */
  async kill(proc: WorkerProc): Promise<void> {
    if (proc.exitedAt !== undefined) return;
    proc.fate = 'killed';
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  /** SIGTERM to each live worker (graceful: active jobs finish), SIGKILL whoever is still there after `timeoutMs`. */
  async stopAll(timeoutMs: number): Promise<void> {
    const live = this.alive();
    for (const p of live) {
      p.fate = 'stopped';
      p.stopRequestedAt = Date.now();
      p.child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const p of this.alive()) p.child.kill('SIGKILL');
    }, timeoutMs);
    await Promise.all(live.map((p) => p.exited));
    clearTimeout(timer);
  }

  /** Synchronous last resort (process 'exit' hook, second Ctrl-C): SIGKILL every live worker. */
  killAllNow(): void {
    for (const p of this.alive()) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
