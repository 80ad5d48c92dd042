import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { startCluster, type RedisClusterTopology } from '../cluster.js';
import type { RedisServer } from '../server.js';
import { startRedis } from '../start-redis.js';
import { waitFor } from '../wait.js';
import { cleanupAfterEach } from './cleanup.js';

/** A single server, or a 3-master Redis Cluster. */
export type TopologyName = 'single' | 'cluster';

/** What each test of a {@link forEachTopology} suite gets (read it inside tests, not at load time). */
export interface Topology {
  readonly name: TopologyName;
  /** The suite's client: a `Redis` on the single server, a `Cluster` on the cluster. */
  readonly client: Redis | Cluster;
  /** The single server (`undefined` on the cluster). */
  readonly server: RedisServer | undefined;
  /** Runs `cleanup` after the current test (last registered first). */
  afterTest(cleanup: () => unknown): void;
}

export interface ForEachTopologyOptions<X> {
  /** Whether a Cluster can run here (`testkitCapabilities().topologies`); without one only the single-server suite is registered. */
  cluster: boolean;
  /** Options of the suite's client (on the Cluster: of every node connection). @defaultValue `{}` */
  redisOptions?: RedisOptions;
  /** The package's own helpers (a lock or queue factory, say), added to what each test gets. */
  extend?: (t: Topology) => X;
}

/**
 * Runs `suite` against one server and against a 3-master Redis Cluster (like node-redlock's
 * single and multi suites): each topology is started once for the suite, with one shared client
 * that is ready before the first test.
 */
export function forEachTopology<X extends object = object>(title: string, options: ForEachTopologyOptions<X>, suite: (t: Topology & X) => void): void {
  const names: TopologyName[] = options.cluster ? ['single', 'cluster'] : ['single'];
  for (const name of names) {
    describe(`${title} [${name}]`, () => {
      let server: RedisServer | undefined;
      let cluster: RedisClusterTopology | undefined;
      let client: Redis | Cluster | undefined;
      const redisOptions = options.redisOptions ?? {};
      beforeAll(async () => {
        if (name === 'single') {
          server = await startRedis();
          client = new Redis(server.url, redisOptions);
        } else {
          cluster = await startCluster({ masters: 3 });
          client = new Cluster(
            cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
            { redisOptions },
          );
        }
        client.on('error', () => undefined);
        await waitFor(() => client?.status === 'ready', { description: `the ${name} client to be ready` });
      }, 60_000);
      const afterTest = cleanupAfterEach();
      afterAll(async () => {
        client?.disconnect();
        await server?.dispose();
        await cluster?.dispose();
      });
      const t: Topology = {
        name,
        get client() {
          if (!client) throw new Error(`forEachTopology: the ${name} client is used before beforeAll ran`);
          return client;
        },
        get server() {
          return server;
        },
        afterTest,
      };
      // Descriptors, not values: the package's own getters must stay getters.
      suite(Object.defineProperties(t, Object.getOwnPropertyDescriptors(options.extend?.(t) ?? {})) as Topology & X);
    });
  }
}
