import { Fleet, type FleetProc, type History } from '@lota/fault-harness';
import { WORKER_CONFIG_ENV, WORKER_NAME_ENV, type MemMessage, type WorkerConfig } from './config.js';

/** How long a new worker may take to connect and say 'ready' (a replacement competes for the CPU). */
const READY_TIMEOUT_MS = 60_000;
/** A worker told to stop that is still there this long after its bound is SIGKILLed. */
const STOP_GRACE_MS = 1_000;

/**
 * One soak worker: the harness process (history, messages, output, exit) plus what only the soak
 * tracks about it. Times here are Date.now() (the memory report's clock); the history's are the
 * harness clock.
 */
export interface WorkerProc {
  readonly proc: FleetProc;
  readonly name: string;
  /** Position in the fleet; a replacement takes its victim's slot. */
  readonly slot: number;
  /** Never chosen as a victim (--protect). */
  readonly protected: boolean;
  readonly startedAt: number;
  readyAt: number | undefined;
  exitedAt: number | undefined;
  /** Why it ended: killed by the chaos loop, stopped at the end, or died by itself. */
  fate: 'running' | 'killed' | 'stopped' | 'crashed';
  /** Resolves when it said 'ready'; rejects if it exited (or timed out) first. */
  readonly ready: Promise<void>;
}

/** The memory reports a worker sent (every `--sample-every`, after a forced GC). */
export function samplesOf(w: WorkerProc): MemMessage[] {
  return w.proc.messages.filter((m): m is MemMessage => m.event === 'mem');
}

export interface SoakFleetOptions {
  script: string;
  config: WorkerConfig;
  /** Told about each process that exits on its own (not killed or stopped by the driver). */
  onCrash?: (w: WorkerProc) => void;
}

/**
 * The soak's layer over the harness {@link Fleet}: slots, the protected worker, fates (killed,
 * stopped, crashed: a crash is reported so the driver can replace it), readiness, and `node
 * --expose-gc` for the post-GC memory samples. Spawning, SIGKILL, the stop request on stdin, and
 * the history of kills and exits are the harness's.
 */
export class SoakFleet {
  readonly workers: WorkerProc[] = [];
  private readonly fleet: Fleet;
  private seq = 0;

  constructor(
    history: History,
    private readonly opts: SoakFleetOptions,
  ) {
    this.fleet = new Fleet(history);
  }

  alive(): WorkerProc[] {
    return this.workers.filter((w) => !w.proc.exit);
  }

  start(slot: number, isProtected: boolean): WorkerProc {
    const name = `w${++this.seq}`;
    const proc = this.fleet.start({
      name,
      script: this.opts.script,
      nodeArgs: ['--expose-gc'],
      env: { [WORKER_NAME_ENV]: name, [WORKER_CONFIG_ENV]: JSON.stringify(this.opts.config) },
    });
    const ready = proc.message((m) => m.event === 'ready', READY_TIMEOUT_MS).then(() => {
      w.readyAt = Date.now();
    });
    ready.catch(() => undefined); // awaited by the driver for the first workers only
    const w: WorkerProc = { proc, name, slot, protected: isProtected, startedAt: Date.now(), readyAt: undefined, exitedAt: undefined, fate: 'running', ready };
    void proc.exited.then(() => {
      w.exitedAt = Date.now();
      if (w.fate !== 'running') return;
      w.fate = 'crashed';
      this.opts.onCrash?.(w);
    });
    this.workers.push(w);
    return w;
  }

  /** SIGKILL, then wait until the exit is seen (and in the history). */
  async kill(w: WorkerProc): Promise<void> {
    if (w.proc.exit) return;
    w.fate = 'killed';
    w.proc.kill();
    await w.proc.exited;
  }

  /** Asks every live worker to stop (active jobs finish, it exits 0 within `boundMs`); SIGKILLs whoever is still there after that. */
  async stopAll(boundMs: number): Promise<void> {
    const live = this.alive();
    for (const w of live) {
      w.fate = 'stopped';
      w.proc.requestStop(boundMs);
    }
    const timer = setTimeout(() => {
      for (const w of this.alive()) w.proc.terminate();
    }, boundMs + STOP_GRACE_MS);
    await Promise.all(live.map((w) => w.proc.exited));
    clearTimeout(timer);
  }

  /** Synchronous last resort (process 'exit' hook, second Ctrl-C): SIGKILL every live worker. */
  terminateAll(): void {
    for (const w of this.alive()) w.proc.terminate();
  }
}
