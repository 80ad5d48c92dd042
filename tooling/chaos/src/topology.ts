import { startCluster, startFaultProxy, startRedis, waitFor, withAdmin, type FaultProxy, type RedisClusterTopology, type RedisSentinelTopology, type RedisServer } from '@lota/redis-testkit';
import { startSentinel } from '@lota/redis-testkit';
import { Redis } from 'ioredis';
import type { Schedule } from './schedule.js';
import type { RedisTarget } from './worker-config.js';

/** The queue/lock Redis of one schedule, and what the faults can do to it. */
export interface Topology {
  /** How workers reach it (through the proxy when there is one). */
  readonly workerTarget: RedisTarget;
  /** How the producer reaches it (never through the proxy). */
  readonly producerTarget: RedisTarget;
  /** Replicas a durable enqueue must reach (0 on a single server). */
  readonly replicas: number;
  /** A single server (undefined on Cluster/Sentinel). */
  readonly server: RedisServer | undefined;
  readonly proxy: FaultProxy | undefined;
  /** A client on a single server for flush faults (undefined on Cluster/Sentinel). */
  readonly admin: Redis | undefined;
  /**
   * Kills the master that holds the memory-extraction queue and waits until the topology has
   * failed over; returns a heal that restarts the killed node (it rejoins as a replica).
   */
  failover(): Promise<{ killed: string; heal: () => Promise<void> }>;
  dispose(): Promise<void>;
}

export async function startTopology(schedule: Schedule, prefix: string, random: () => number): Promise<Topology> {
  const node = { password: schedule.password, appendOnly: true, appendFsync: 'always' as const };
  if (schedule.topology === 'cluster') return clusterTopology(await startCluster({ masters: 3, replicasPerMaster: 1, node }), prefix, schedule.password);
  if (schedule.topology === 'sentinel') return sentinelTopology(await startSentinel({ replicas: 2, sentinels: 3, node }), schedule.password);
  const server = await startRedis({ password: schedule.password, appendOnly: schedule.persistence, appendFsync: 'always' });
  const direct = `redis://${server.host}:${server.port}`;
  const proxy = schedule.proxy ? await startFaultProxy({ host: server.host, port: server.port }, { random }) : undefined;
  const admin = new Redis(server.port, server.host, { password: schedule.password, maxRetriesPerRequest: 1, connectTimeout: 1_000 });
  admin.on('error', () => undefined);
  return {
    workerTarget: { url: proxy ? `redis://${proxy.host}:${proxy.port}` : direct },
    producerTarget: { url: direct },
    replicas: 0,
    server,
    proxy,
    admin,
    failover: () => Promise.reject(new Error('a single server has no failover')),
    async dispose() {
      admin.disconnect();
      await proxy?.close().catch(() => undefined);
      await server.dispose().catch(() => undefined);
    },
  };
}

function clusterTopology(cluster: RedisClusterTopology, prefix: string, password: string): Topology {
  const target: RedisTarget = { cluster: { nodes: cluster.startupNodes } };
  return {
    workerTarget: target,
    producerTarget: target,
    replicas: 1,
    server: undefined,
    proxy: undefined,
    admin: undefined,
    async failover() {
      const masters = await cluster.masters();
      const first = masters[0];
      if (!first) throw new Error('the cluster has no master');
      // The master serving the memory-extraction queue's hash tag (see @lota/queues hash-tag.ts).
      const slot = await withAdmin({ host: first.host, port: first.port, password }, (c) => c.call('CLUSTER', 'KEYSLOT', `${prefix}:{memory-extraction}`) as Promise<number>);
      let victim = first;
      for (const m of masters) {
        const owns = await withAdmin({ host: m.host, port: m.port, password }, async (c) => {
          const slots = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
          const me = (await c.call('CLUSTER', 'MYID')) as string;
          return slots.some(([lo, hi, primary]) => slot >= lo && slot <= hi && primary[2] === me);
        });
        if (owns) victim = m;
      }
      await victim.kill();
      await cluster.waitForHealthy(20_000);
      // The heal ends once the restarted node has rejoined as a replica: until then it may still
      // take writes as the master it was (clients with a stale slot map reach it), a second
      // holder of a lock included. That is part of the failover's lock-loss window.
      const heal = async (): Promise<void> => {
        await victim.restart();
        await waitUntilReplica(victim.host, victim.port, password);
        await cluster.waitForHealthy(20_000);
      };
      return { killed: `cluster node ${victim.port}`, heal };
    },
    dispose: () => cluster.dispose(),
  };
}

/** Polls a restarted node until it reports itself a replica (INFO replication), up to 20 s. */
async function waitUntilReplica(host: string, port: number, password: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        const info = await withAdmin({ host, port, password }, (c) => c.info('replication'));
        return /role:slave/.test(info);
      } catch {
        return false;
      }
    },
    { timeoutMs: 20_000, intervalMs: 100, description: `node ${port} to rejoin as a replica` },
  );
}

function sentinelTopology(group: RedisSentinelTopology, password: string): Topology {
  const target: RedisTarget = { sentinel: { sentinels: group.sentinelAddresses, name: group.name } };
  return {
    workerTarget: target,
    producerTarget: target,
    replicas: 2,
    server: undefined,
    proxy: undefined,
    admin: undefined,
    async failover() {
      const primary = await group.primary();
      await primary.kill();
      await group.waitForFailover(primary.port, 20_000);
      const heal = async (): Promise<void> => {
        await primary.restart();
        await waitUntilReplica(primary.host, primary.port, password);
      };
      return { killed: `primary ${primary.port}`, heal };
    },
    dispose: () => group.dispose(),
  };
}
