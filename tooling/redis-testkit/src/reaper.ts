import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Servers must die with the test process, even when it is SIGKILLed or crashes, so a failed
 * run never leaves redis-server processes or temp dirs behind. Two layers do this:
 *
 * 1. an `exit` hook in this process (covers normal exits, thrown errors, process.exit);
 * 2. a reaper: one small detached node process per test process, fed PIDs and dirs over a
 *    pipe. When the pipe closes (this process is gone, however it died) it SIGKILLs every
 *    PID still registered and removes the dirs. It lives in its own process group so a
 *    signal to the test's group does not take it down before it has cleaned up.
 */
const REAPER_SOURCE = `
const { rmSync } = require('node:fs');
const pids = new Set();
const dirs = new Set();
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\\n')) >= 0) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    const space = line.indexOf(' ');
    const verb = line.slice(0, space);
    const arg = line.slice(space + 1);
    if (verb === 'pid') pids.add(Number(arg));
    else if (verb === 'unpid') pids.delete(Number(arg));
    else if (verb === 'dir') dirs.add(arg);
    else if (verb === 'undir') dirs.delete(arg);
  }
});
function reap() {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  setTimeout(() => {
    for (const dir of dirs) { try { rmSync(dir, { recursive: true, force: true }); } catch {} }
    process.exit(0);
  }, 200);
}
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

const livePids = new Set<number>();
const exitCleanups = new Set<() => void>();
const liveDirs = new Set<string>();
let reaper: ChildProcess | undefined;
let hooked = false;

function send(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, ['-e', REAPER_SOURCE], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    reaper.on('error', () => undefined);
    reaper.unref();
    // The pipe must not keep this process alive; it only has to close when we exit.
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper.stdin?.on('error', () => undefined);
  }
  reaper.stdin?.write(`${line}\n`);
}

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const cleanup of exitCleanups) {
      try {
        cleanup();
      } catch {
        // best effort: the process is ending anyway
      }
    }
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

export function trackPid(pid: number): void {
  installExitHook();
  livePids.add(pid);
  send(`pid ${pid}`);
}

export function untrackPid(pid: number): void {
  livePids.delete(pid);
  if (reaper) send(`unpid ${pid}`);
}

export function trackDir(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
  send(`dir ${dir}`);
}

export function untrackDir(dir: string): void {
  liveDirs.delete(dir);
  if (reaper) send(`undir ${dir}`);
}

/**
 * Runs `cleanup` (synchronously) in the `exit` hook unless the returned function is called
 * first: for in-process resources (fault proxies) that a test forgot to dispose.
 */
export function onProcessExit(cleanup: () => void): () => void {
  installExitHook();
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
  };
}
