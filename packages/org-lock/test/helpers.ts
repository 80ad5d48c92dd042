import { startCluster, startRedis, testkitCapabilities, waitFor, type RedisClusterTopology, type RedisServer } from '@lota/redis-testkit';
import { Cluster, Redis } from 'ioredis';
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
