/**
 * A BullMQ worker's blocking connection (a duplicate of the manager's BullMQ client) across the
 * ways BullMQ itself closes and reopens it.
 *
 * - BullMQ disconnects and reconnects that same client object: on `pause()`, and from the
 *   watchdog that abandons a BZPOPMIN outliving its block by 1 s. The manager stopped tracking a
 *   duplicate at its first 'end', so from then on it was neither health-checked nor closed by
 *   `disconnect()`.
 * - The watchdog's reset awaits `connect()`. On a Cluster mid-failover ioredis never settles that
 *   promise when the ready check fails (cluster_state:fail), and the worker stopped for good
 *   (found by the fault campaign: a delayed job due during a failover never ran).
 */
import { clientNames, startCluster, startRedis, testkitCapabilities, waitFor, watchResetThenFailedCheck, withAdmin, type LocalRedisServer } from '@lota/redis-testkit';
import { recordingLogger, suiteCluster } from '@lota/redis-testkit/vitest';
import { Queue, Worker } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisConnectionManager, type RedisConnectionManager } from '../src/index.js';

const caps = await testkitCapabilities();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function bullmq(m: RedisConnectionManager, name: string, processor: () => Promise<void>): { queue: Queue; worker: Worker } {
  const connection = m.getConnectionForBullMQ() as Redis;
  const queue = new Queue(name, { connection, prefix: '{q}' });
  // drainDelay 1 s: a health-check PING on the blocking connection waits behind an idle BZPOPMIN.
  const worker = new Worker(name, processor, { connection, prefix: '{q}', stalledInterval: 500, lockDuration: 1_500, drainDelay: 1 });
  worker.on('error', () => undefined);
  cleanups.push(
    () => worker.close(true).catch(() => undefined),
    () => queue.close().catch(() => undefined),
  );
  return { queue, worker };
}

describe.skipIf(!caps.control)('a worker blocking client that BullMQ closes and reopens', () => {
  it('stays health-checked and is closed by disconnect() after a worker pause() and resume()', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    const m = createRedisConnectionManager({ url: server.url, logger: recordingLogger(), healthCheckIntervalMs: 0 });
    cleanups.push(() => m.disconnect({ timeoutMs: 500 }));
    await m.connect();
    const ran: string[] = [];
    const { queue, worker } = bullmq(m, `pause-${Date.now()}`, async () => void ran.push('job'));
    await worker.waitUntilReady();
    // BullMQ ends the blocking connection, waits for its main loop, and connects the same client again.
    await worker.pause();
    await worker.resume();
    await queue.add('after-resume', {});
    await waitFor(() => ran.length === 1, { description: 'a job to run after resume()' });

    const duplicates = (await m.health()).clients.filter((c) => c.role === 'bullmq-duplicate');
    expect(duplicates).toEqual([{ role: 'bullmq-duplicate', status: 'ready' }]);
    const checked: string[] = [];
    m.on('health', (e) => checked.push(e.role));
    await m.checkHealthNow();
    expect(checked).toContain('bullmq-duplicate');

    await m.disconnect({ timeoutMs: 1_000 });
    // Nothing of the manager's may stay connected, the worker's blocking connection included.
    const left = clientNames(await withAdmin(server, (c) => c.client('LIST') as Promise<string>)).filter((n) => n !== '');
    expect(left).toEqual([]);
  });
});

const PASSWORD = 'failover-pw';

describe.skipIf(!caps.topologies)('a worker on the manager\'s Cluster client across a failover (3 masters, 1 replica each)', () => {
  const cluster = suiteCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000, node: { password: PASSWORD, appendOnly: true } });

  it(
    'a delayed job due during the failover runs once the cluster is back, though BullMQ reset the blocking connection mid-failover',
    { timeout: 90_000 },
    async () => {
      const owner = await cluster().slotOwner('{q}');

      // As the fault campaign runs workers: health checks every second.
      const m = createRedisConnectionManager({ cluster: { nodes: cluster().startupNodes }, password: PASSWORD, logger: recordingLogger(), healthCheckIntervalMs: 1_000, healthCheckTimeoutMs: 800 });
      cleanups.push(() => m.disconnect({ timeoutMs: 1_000 }));
      await m.connect();
      const ran: number[] = [];
      const { queue, worker } = bullmq(m, `failover-${Date.now()}`, async () => void ran.push(Date.now()));
      await worker.waitUntilReady();
      await waitFor(async () => / cmd=bzpopmin /.test(await cluster().admin(owner.master, (c) => c.client('LIST') as Promise<string>)), { description: 'the worker to block on the master' });
      const resetMetFailedCheck = watchResetThenFailedCheck(await worker.backend.blockingClient!);

      await using failover = await cluster().holdFailover(owner);
      const job = await queue.add('delayed', {}, { delay: 3_000 });
      // On the replica before the master dies (asynchronous replication would otherwise lose it).
      const replica = owner.replicas[0]!;
      await waitFor(() => cluster().admin(replica, async (c) => (await c.call('READONLY'), (await c.exists(`{q}:${queue.name}:${job.id!}`)) === 1)), { description: 'the job on the replica' });
      await failover.killMaster();
      await waitFor(resetMetFailedCheck, { timeoutMs: 15_000, description: "BullMQ's reset of the blocking connection to meet a failed ready check" });
      expect(ran).toHaveLength(0);

      const { failedOverAt, rejoined } = await failover.release();
      // The blocking client reconnects on ioredis' schedule (at most 2 s apart) and BullMQ then asks
      // for the due job at once; 6 s leaves room for a slot refresh and a loaded machine.
      await waitFor(() => ran.length > 0, { timeoutMs: 6_000, description: 'the delayed job to run within 6 s of the failover' }).finally(() => rejoined);
      expect(ran[0]! - failedOverAt).toBeLessThan(6_000);
    },
  );
});

describe.skipIf(!caps.topologies)('Cluster connect() while the ready check fails (cluster_state:fail)', () => {
  it(
    "ioredis drops connect()'s promise; the manager's clients settle it once the cluster is ready",
    { timeout: 60_000 },
    async () => {
      await using cluster = await startCluster({ masters: 3, nodeTimeoutMs: 1_000 });
      const [dead, ...live] = cluster.nodes as [LocalRedisServer, ...LocalRedisServer[]];
      await dead.kill();
      const liveNodes = live.map((n) => `127.0.0.1:${n.port}`);
      await waitFor(async () => /cluster_state:fail/.test(await withAdmin(live[0]!, (c) => c.call('CLUSTER', 'INFO') as Promise<string>)), {
        description: 'cluster_state:fail',
      });

      // Plain ioredis: every ready check fails, the cluster retries by itself, the first promise is dropped.
      const raw = new Cluster(liveNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })), { lazyConnect: true });
      raw.on('error', () => undefined);
      cleanups.push(() => raw.disconnect());
      let rawSettled = false;
      raw.connect().then(
        () => (rawSettled = true),
        () => (rawSettled = true),
      );
      let rawRetries = 0;
      raw.on('reconnecting', () => rawRetries++);

      const m = createRedisConnectionManager({ cluster: { nodes: liveNodes }, logger: recordingLogger(), connectTimeoutMs: 30_000, healthCheckIntervalMs: 0 });
      cleanups.push(() => m.disconnect({ timeoutMs: 500 }));
      let managerReadyAt = 0;
      const connecting = m.connect().then(() => void (managerReadyAt = Date.now()));
      await waitFor(() => rawRetries >= 5, { description: 'ioredis to retry the connection after failed ready checks' });

      await dead.restart();
      await cluster.waitForHealthy(30_000);
      const healthyAt = Date.now();
      await waitFor(() => raw.status === 'ready', { description: 'the plain client to become ready' });
      await connecting;
      // The manager's connect() settles with its clients' 'ready' (before: only at connectTimeoutMs,
      // as REDIS_UNREACHABLE, though the cluster was back).
      expect(managerReadyAt - healthyAt).toBeLessThan(5_000);
      // Many attempts, one listener pair of ours at most on each client.
      const general = m.getConnection() as Cluster;
      expect(general.listenerCount('ready')).toBeLessThanOrEqual(3);
      // Canary: ioredis still drops the first promise (issue #709). If this fails, ioredis fixed it:
      // settled-connect.ts (here and in @lota/queues) can go.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(rawSettled).toBe(false);
    },
  );
});
