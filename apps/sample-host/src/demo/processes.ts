import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child process the demo started, by PID. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code (or 128 + signal number style: null code becomes -1). */
  exited: Promise<number>;
  /** Resolves with the child's first stdout line whose JSON `event` is `readyEvent` (its other fields: e.g. the API's `address`). */
  ready: Promise<Record<string, unknown>>;
}

export interface StartChildOptions {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  /** The JSON `event` the child prints on stdout once it is ready. */
  readyEvent: string;
  /** Called with each stderr line (the child's warnings and errors). */
  onLog: (name: string, line: string) => void;
}

/**
 * Starts `node <script>` with stdin as a pipe: the child's `LOTA_EXIT_WITH_PARENT=1` makes it
 * shut down by itself if this process dies, so nothing outlives the demo.
 */
export function startChild(opts: StartChildOptions): Child {
  const child = spawn(process.execPath, [opts.script], {
    env: { ...opts.env, LOTA_EXIT_WITH_PARENT: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code) => resolve(code ?? -1));
    child.once('error', () => resolve(-1));
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        if (event.event === opts.readyEvent) resolve(event);
      } catch {
        // not one of our JSON lines
      }
    });
    void exited.then((code) => reject(new Error(`${opts.name} exited with code ${code} before it was ready`)));
  });
  ready.catch(() => undefined);
  createInterface({ input: child.stderr }).on('line', (line) => opts.onLog(opts.name, line));
  return { name: opts.name, process: child, exited, ready };
}

/** SIGTERM, then wait for a graceful exit; SIGKILL after `timeoutMs`. Resolves with the exit code. */
export async function stopChild(child: Child, timeoutMs: number): Promise<number> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      child.process.kill('SIGKILL');
      resolve(-9);
    }, timeoutMs);
  });
  try {
    return await Promise.race([child.exited, killed]);
  } finally {
    clearTimeout(timer);
  }
}
