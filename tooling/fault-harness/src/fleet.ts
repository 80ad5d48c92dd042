import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nowUs } from './clock.js';
import { HISTORY_MARK, parseHistoryLine, type History } from './history.js';

/** Prefix of a control message line (JSON) on a process's stdout, e.g. `@@m {"event":"ready"}`. */
export const MESSAGE_MARK = '@@m ';

/** Writes a control message to stdout (from inside a fleet process). */
export function sendMessage(message: Record<string, unknown>): void {
  process.stdout.write(`${MESSAGE_MARK}${JSON.stringify(message)}\n`);
}

/** The line a fleet process reads on stdin when it is asked to stop by itself. */
export const STOP_LINE = 'stop';

export interface ProcSpec {
  /** A short unique name (also the `proc` of its history events). */
  name: string;
  /** The ES module to run. */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  nodeArgs?: string[];
}

/** One process of the fleet, from spawn to exit. */
export interface FleetProc {
  readonly name: string;
  readonly pid: number | undefined;
  readonly child: ChildProcess;
  /** Everything it printed that is neither history nor a control message (stdout and stderr). */
  readonly output: string[];
  /** Control messages it sent (see {@link sendMessage}). */
  readonly messages: Array<Record<string, unknown>>;
  /** Set once it exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null; t: number } | undefined;
  readonly exited: Promise<void>;
  /** Resolves with the first message (sent so far or later) that `match` accepts; rejects when the process exits first or after `timeoutMs`. */
  message(match: (m: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Writes a line to its stdin. */
  send(line: string): void;
  /** SIGSTOP: it stalls (recorded) until {@link cont}. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  cont(): void;
  /** SIGKILL (recorded as an expected death). */
  kill(): void;
  /** SIGKILL without changing what was expected of it (a process that did not stop in time). */
  terminate(): void;
  /** Asks it to stop by itself (the {@link STOP_LINE} on stdin): it must exit with 0 within `boundMs`. */
  requestStop(boundMs: number): void;
  readonly paused: boolean;
}

/**
 * Worker processes for a fault run: spawns them (in their own process group, stdin a pipe so
 * they can be told to stop and notice when the driver dies), splits their output into history
 * events, control messages and plain output, and records what the driver does to them (stalls
 * from SIGSTOP, kills, stop requests, exits) in the history.
 */
export class Fleet {
  readonly procs: FleetProc[] = [];

  constructor(private readonly history: History) {}

  start(spec: ProcSpec): FleetProc {
    const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), spec.script, ...(spec.args ?? [])], {
      env: { ...process.env, ...spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const history = this.history;
    const output: string[] = [];
    const messages: Array<Record<string, unknown>> = [];
    const waiters = new Set<() => void>();
    let stoppedAt: number | undefined;
    let expected: 'self' | 'killed' = 'self';
    let stopRequestedAt: number | undefined;
    let stopBoundMs: number | undefined;
    const endStall = (t: number): void => {
      if (stoppedAt === undefined) return;
      history.add({ k: 'stall', proc: spec.name, kind: 'stop', t0: stoppedAt, t1: t });
      stoppedAt = undefined;
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(HISTORY_MARK)) {
        try {
          const event = parseHistoryLine(line);
          if (event) history.add(event);
        } catch {
          output.push(line);
        }
      } else if (line.startsWith(MESSAGE_MARK)) {
        try {
          messages.push(JSON.parse(line.slice(MESSAGE_MARK.length)) as Record<string, unknown>);
          for (const w of [...waiters]) w();
        } catch {
          output.push(line);
        }
      } else output.push(line);
    });
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
    child.stdin.on('error', () => undefined); // a dead process's stdin
    const proc: FleetProc = {
      name: spec.name,
      pid: child.pid,
      child,
      output,
      messages,
      exit: undefined,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          const t = nowUs();
          proc.exit = { code, signal, t };
          endStall(t);
          history.add({
            k: 'exit',
            proc: spec.name,
            t,
            code,
            signal,
            expected,
            ...(stopRequestedAt === undefined ? {} : { stopRequestedAt }),
            ...(stopBoundMs === undefined ? {} : { boundMs: stopBoundMs }),
          });
          for (const w of [...waiters]) w();
          resolve();
        });
      }),
      message(match, timeoutMs) {
        return new Promise((resolve, reject) => {
          const check = (): void => {
            const found = messages.find(match);
            if (found) {
              done();
              resolve(found);
            } else if (proc.exit) {
              done();
              reject(new Error(`${spec.name} exited (code ${String(proc.exit.code)}, signal ${String(proc.exit.signal)}) before the message; output:\n${output.slice(-20).join('\n')}`));
            }
          };
          const timer = setTimeout(() => {
            done();
            reject(new Error(`${spec.name}: no such message within ${timeoutMs} ms; output:\n${output.slice(-20).join('\n')}`));
          }, timeoutMs);
          const done = (): void => {
            clearTimeout(timer);
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        });
      },
      send(line) {
        if (!proc.exit) child.stdin.write(`${line}\n`);
      },
      pause() {
        if (proc.exit || stoppedAt !== undefined) return;
        stoppedAt = nowUs();
        child.kill('SIGSTOP');
      },
      cont() {
        if (proc.exit || stoppedAt === undefined) return;
        child.kill('SIGCONT');
        endStall(nowUs());
      },
      kill() {
        if (proc.exit) return;
        expected = 'killed';
        child.kill('SIGKILL');
      },
      terminate() {
        if (!proc.exit) child.kill('SIGKILL');
      },
      requestStop(boundMs) {
        if (proc.exit) return;
        proc.cont();
        stopRequestedAt = nowUs();
        stopBoundMs = boundMs;
        proc.send(STOP_LINE);
      },
      get paused() {
        return stoppedAt !== undefined;
      },
    };
    this.procs.push(proc);
    return proc;
  }

  alive(): FleetProc[] {
    return this.procs.filter((p) => !p.exit);
  }

  /** SIGKILLs every process still running and waits for their exits (cleanup after a failure). */
  async killAll(): Promise<void> {
    for (const p of this.alive()) p.kill();
    await Promise.all(this.procs.map((p) => p.exited));
  }
}
