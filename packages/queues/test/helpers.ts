import { randomUUID } from 'node:crypto';
import { startCluster, startRedis, testkitCapabilities, waitFor, type RedisClusterTopology, type RedisServer } from '@lota/redis-testkit';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { createQueues, type CreateQueuesOptions, type LotaQueues, type Logger } from '../src/index.js';

export const caps = await testkitCapabilities();

export interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TopologyContext {
  readonly name: 'single' | 'cluster';
  /** A BullMQ-ready client (maxRetriesPerRequest: null) shared by the suite. */
  readonly connection: Redis | Cluster;
  /** The single server (undefined on the cluster). */
  readonly server: RedisServer | undefined;
  /** A fresh LotaQueues on its own prefix, closed after the test. */
  queues(opts?: Partial<CreateQueuesOptions>): LotaQueues & { logs: ReturnType<typeof recordingLogger>; prefixUsed: string };
}

/**
 * Runs `suite` against a single server and against a 3-master Redis Cluster, like
 * node-redlock's single/multi suites. Every test gets its own key prefix, so tests never see
 * each other's jobs.
 */
export function forEachTopology(title: string, suite: (ctx: TopologyContext) => void): void {
  const topologies: Array<'single' | 'cluster'> = caps.topologies ? ['single', 'cluster'] : ['single'];
  for (const name of topologies) {
    describe(`${title} [${name}]`, () => {
      let server: RedisServer | undefined;
      let cluster: RedisClusterTopology | undefined;
      let connection: Redis | Cluster | undefined;
      const open: LotaQueues[] = [];
      beforeAll(async () => {
        if (name === 'single') {
          server = await startRedis();
          connection = new Redis(server.url, { maxRetriesPerRequest: null });
        } else {
          cluster = await startCluster({ masters: 3 });
          connection = new Cluster(
            cluster.startupNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
            { redisOptions: { maxRetriesPerRequest: null } },
          );
        }
        connection.on('error', () => undefined);
        await waitFor(() => connection?.status === 'ready', { description: `${name} connection ready` });
      }, 60_000);
      afterEach(async () => {
        await Promise.all(open.splice(0).map((q) => q.close({ timeoutMs: 2_000 })));
      });
      afterAll(async () => {
        connection?.disconnect();
        await server?.dispose();
        await cluster?.dispose();
      });
      suite({
        name,
        get connection() {
          if (!connection) throw new Error('connection not ready');
          return connection;
        },
        get server() {
          return server;
        },
        queues(opts = {}) {
          if (!connection) throw new Error('connection not ready');
          const logger = recordingLogger();
          const prefixUsed = `t${randomUUID().slice(0, 8)}`;
          const q = createQueues({ connection, prefix: prefixUsed, logger, ...opts });
          open.push(q);
          return Object.assign(q, { logs: logger, prefixUsed });
        },
      });
    });
  }
}

/** Tracks how many calls of `fn` run at once. */
export function concurrencyProbe(): { enter(): void; exit(): void; max: number; current: number } {
  const probe = {
    current: 0,
    max: 0,
    enter() {
      probe.current++;
      probe.max = Math.max(probe.max, probe.current);
    },
    exit() {
      probe.current--;
    },
  };
  return probe;
}
