import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis, testkitCapabilities, type RedisServer } from '@lota/redis-testkit';
import { cleanupAfterEach, forEachTopology as forEachRedisTopology, recordingLogger, type Topology } from '@lota/redis-testkit/vitest';
import { Redis, type RedisOptions } from 'ioredis';
import { createRedisLock, type RedisLock, type RedisLockOptions } from '../src/index.js';

export const caps = await testkitCapabilities();

export interface LockTopology extends Topology {
  /** A lock on the suite's client, closed after the test. */
  lock(opts?: Partial<RedisLockOptions>): RedisLock;
}

/** Runs `suite` against one server and against a 3-master Cluster (like node-redlock's single/multi suites). */
export function forEachTopology(title: string, suite: (t: LockTopology) => void): void {
  forEachRedisTopology(
    title,
    {
      cluster: caps.topologies,
      redisOptions: { maxRetriesPerRequest: 1 },
      extend: (t) => ({
        lock(opts: Partial<RedisLockOptions> = {}): RedisLock {
          const l = createRedisLock({ clients: t.client, logger: recordingLogger(), ...opts });
          t.afterTest(() => l.close());
          return l;
        },
      }),
    },
    suite,
  );
}

let n = 0;
/** A scope no other test uses. */
export const freshScope = (what = 's'): string => `${what}-${process.pid}-${Date.now()}-${n++}`;

/** Resolves after `ms`; used only where a test must show that nothing happens during a window. */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const childScript = fileURLToPath(new URL('./fixtures/lock-child.mjs', import.meta.url));

/** A lock user in its own process (test/fixtures/lock-child.mjs), driven over stdin/stdout. */
export interface LockChild {
  readonly proc: ChildProcess;
  /** Every complete stdout line so far. */
  readonly lines: string[];
  /** Writes one line to its stdin. */
  send(line: string): void;
  /** Resolves with its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Spawns the fixture with `mode`, `url` and JSON options. The caller kills it when done (`proc.kill('SIGKILL')`). */
export function spawnLockChild(mode: string, url: string, opts: Record<string, unknown>): LockChild {
  const proc = spawn(process.execPath, [childScript, mode, url, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, lines, send: (line) => void proc.stdin?.write(`${line}\n`), exited };
}

/**
 * Per-test resources that are disposed after each test (in reverse order): servers, clients,
 * locks and child processes. Call once at the top level of a test file.
 */
export function perTestResources(): {
  server: (opts?: Parameters<typeof startRedis>[0]) => Promise<RedisServer>;
  client: (s: RedisServer, opts?: RedisOptions) => Redis;
  lock: (opts: RedisLockOptions) => RedisLock;
  child: (mode: string, url: string, opts: Record<string, unknown>) => LockChild;
  defer: (cleanup: () => unknown) => void;
} {
  const defer = cleanupAfterEach();
  return {
    server: async (opts = {}) => {
      const s = await startRedis(opts);
      defer(() => s.dispose());
      return s;
    },
    client: (s, opts = {}) => {
      const c = new Redis(s.url, { maxRetriesPerRequest: 1, ...opts });
      c.on('error', () => undefined);
      defer(() => c.disconnect());
      return c;
    },
    lock: (opts) => {
      const l = createRedisLock({ logger: recordingLogger(), ...opts });
      defer(() => l.close());
      return l;
    },
    child: (mode, url, opts) => {
      const c = spawnLockChild(mode, url, opts);
      defer(() => c.proc.kill('SIGKILL'));
      return c;
    },
    defer,
  };
}
