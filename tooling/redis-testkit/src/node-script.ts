import { spawn } from 'node:child_process';
import type { RedisServer } from './server.js';
import { waitFor } from './wait.js';

/** A Node ES-module script run in a child process, driven over stdin/stdout by a test. */
export interface NodeScript {
  /** Everything the script wrote to stdout so far. */
  output(): string;
  /** Writes one line to the script's stdin. */
  send(line: string): void;
  /** Its exit code, or 'still running' (then it is SIGKILLed) if it does not exit within `ms`. */
  exitWithin(ms: number): Promise<number | null | 'still running'>;
}

/**
 * Runs `source` (an ES module, `process.argv[1..]` = `args`) in a child Node process; stderr is
 * inherited. For tests that must show a process can end by itself (no handle left open).
 */
export function runNodeScript(source: string, args: string[] = []): NodeScript {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => out,
    send: (line) => void child.stdin.write(`${line}\n`),
    async exitWithin(ms) {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), ms)))]);
      clearTimeout(timer);
      if (code === 'still running') child.kill('SIGKILL');
      return code;
    },
  };
}

/** How a script ended: its exit code ('still running': it had not exited in time and was SIGKILLed) and its stdout. */
export interface ScriptEnd {
  code: number | null | 'still running';
  output: string;
}

/** Runs `source` (see {@link runNodeScript}) until it exits by itself, or for `ms` at most. */
export async function runNodeScriptToEnd(source: string, args: string[], ms: number): Promise<ScriptEnd> {
  const script = runNodeScript(source, args);
  const code = await script.exitWithin(ms);
  return { code, output: script.output() };
}

/**
 * The "a process exits by itself after its Redis died" check: runs `source` with the server's
 * URL as `process.argv[1]`, waits until it prints `connected`, SIGKILLs the server, then writes
 * `go` to its stdin (the script shuts down on that line) and waits `ms` for it to exit.
 */
export async function killRedisUnderScript(source: string, server: RedisServer, ms: number): Promise<ScriptEnd> {
  const script = runNodeScript(source, [server.url]);
  await waitFor(() => script.output().includes('connected'), { description: 'the script to print "connected"' });
  await server.kill();
  script.send('go');
  const code = await script.exitWithin(ms);
  return { code, output: script.output() };
}

/** Every `<label> <n> ms` a script printed, in order (e.g. `reportedMs(output, 'disconnected in')`). */
export function reportedMs(output: string, label: string): number[] {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...output.matchAll(new RegExp(`${escaped} (\\d+) ms`, 'g'))].map((m) => Number(m[1]));
}
