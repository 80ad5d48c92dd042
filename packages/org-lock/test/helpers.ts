import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCluster, startRedis, testkitCapabilities, waitFor, type RedisClusterTopology, type RedisServer } from '@lota/redis-testkit';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { createRedisLock, type Logger, type RedisLock, type RedisLockOptions } from '../src/index.js';

export const caps = await testkitCapabilities();

export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface LockTopology {
  readonly name: 'single' | 'cluster';
  readonly client: Redis | Cluster;
  readonly server: RedisServer | undefined;
  /** A lock on the suite's client, closed after the test. */
  lock(opts?: Partial<RedisLockOptions>): RedisLock;
}

/** Runs `suite` against one server and against a 3-master Cluster (like node-redlock's single/multi suites). */
export function forEachTopology(title: string, suite: (t: LockTopology) => void): void {
  const names: Array<'single' | 'cluster'> = caps.topologies ? ['single', 'cluster'] : ['single'];
  for (const name of names) {
    describe(`${title} [${name}]`, () => {
      let server: RedisServer | undefined;
      let cluster: RedisClusterTopology | undefined;
      let client: Redis | Cluster | undefined;
      const locks: RedisLock[] = [];
      beforeAll(async () => {
        if (name === 'single') {
          server = await startRedis();
          client = new Redis(server.url, { maxRetriesPerRequest: 1 });
        } else {
          cluster = await startCluster({ masters: 3 });
          client = new Cluster(cluster.startupNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })));
        }
        client.on('error', () => undefined);
        await waitFor(() => client?.status === 'ready', { description: 'client ready' });
      }, 60_000);
      afterEach(async () => {
        await Promise.all(locks.splice(0).map((l) => l.close()));
      });
      afterAll(async () => {
        client?.disconnect();
        await server?.dispose();
        await cluster?.dispose();
      });
      suite({
        name,
        get client() {
          if (!client) throw new Error('not ready');
          return client;
        },
        get server() {
          return server;
        },
        lock(opts = {}) {
          if (!client) throw new Error('not ready');
          const l = createRedisLock({ clients: client, logger: recordingLogger(), ...opts });
          locks.push(l);
          return l;
        },
      });
    });
  }
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
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    server: async (opts = {}) => {
      const s = await startRedis(opts);
      cleanups.push(() => s.dispose());
      return s;
    },
    client: (s, opts = {}) => {
      const c = new Redis(s.url, { maxRetriesPerRequest: 1, ...opts });
      c.on('error', () => undefined);
      cleanups.push(() => c.disconnect());
      return c;
    },
    lock: (opts) => {
      const l = createRedisLock({ logger: recordingLogger(), ...opts });
      cleanups.push(() => l.close());
      return l;
    },
    child: (mode, url, opts) => {
      const c = spawnLockChild(mode, url, opts);
      cleanups.push(() => c.proc.kill('SIGKILL'));
      return c;
    },
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
}
