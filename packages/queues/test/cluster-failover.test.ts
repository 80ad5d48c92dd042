/**
 * A worker on a Redis Cluster keeps taking jobs after the master of its queue fails over.
 *
 * Found by the fault campaign (tooling/chaos, `--only failover`): a debounced digest acknowledged
 * shortly before the master holding the queue was SIGKILLed never ran, with no error logged.
 * Cause: BullMQ abandons a BZPOPMIN that outlives its block timeout by 1 s and resets the
 * worker's blocking connection, awaiting `client.connect()`; on an ioredis Cluster that promise
 * never settles when the connection's ready check fails (CLUSTER INFO answers cluster_state:fail,
 * or reaches the dead node: the failover window), because ioredis then reconnects through a new
 * connect() and drops the first promise. The worker's fetch loop waited on it forever.
 *
 * The first test holds the failover deterministically (the replica may not fail over until the
 * reset has met a failed ready check); the second kills the master with a natural failover, in a
 * loop, like the campaign (LOTA_FAILOVER_ROUNDS rounds, default 4). Before the fix the first
 * failed every time (the digest had not run 80 s after the failover) and the second in 1 round
 * of 12, then 2 of 8; after it, the digest ran 0.1-0.3 s after the failover.
 */
import { randomUUID } from 'node:crypto';
import { waitFor, watchResetThenFailedCheck, type LocalRedisServer, type RedisClusterTopology, type SlotOwner } from '@lota/redis-testkit';
import { recordingLogger, suiteCluster } from '@lota/redis-testkit/vitest';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueues, type LotaQueues } from '../src/index.js';
import { caps } from './helpers.js';

const PASSWORD = 'failover-pw';
/**
 * Recovery bound once the cluster has failed over (cluster_state:ok again): the worker's blocking
 * client reconnects on ioredis' own schedule (its cluster retry delay grows to at most 2 s), its
 * pending reset then completes and the worker asks for the due job at once; one slot-map refresh
 * (bounded by slotsRefreshTimeout, 2 s) may come first. 6 s is that plus slack for a loaded box.
 */
const RECOVERY_BOUND_MS = 6_000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A BullMQ client for a Cluster with the options @lota/redis-connection gives its BullMQ client. */
function bullmqCluster(cluster: RedisClusterTopology): Cluster {
  const client = new Cluster(
    cluster.startupNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
    {
      redisOptions: { password: PASSWORD, maxRetriesPerRequest: null, connectTimeout: 2_000 },
      slotsRefreshTimeout: 2_000,
      maxRedirections: 100,
      retryDelayOnFailover: 300,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 300,
    },
  );
  client.on('error', () => undefined);
  cleanups.push(() => client.disconnect());
  return client;
}

describe.skipIf(!caps.topologies)('a worker across a Redis Cluster failover (3 masters, 1 replica each)', () => {
  const cluster = suiteCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000, node: { password: PASSWORD, appendOnly: true } });

  /** The master serving the memory-digest queue's hash tag now. */
  const digestOwner = (): Promise<SlotOwner> => cluster().slotOwner('{memory-digest}');

  /** A worker process's queues and a producer's (durable enqueue: acknowledged once a replica has the job), on one prefix. */
  function queuesPair(debounceMs: number): { worker: LotaQueues; producer: LotaQueues } {
    const prefix = `f${randomUUID().slice(0, 8)}`;
    const policy = { debounceMs, lockDurationMs: 1_500, maxRetries: 20, backoffDelayMs: 50 };
    const worker = createQueues({ connection: bullmqCluster(cluster()), prefix, logger: recordingLogger(), policies: { 'memory-digest': policy } });
    const producer = createQueues({
      connection: bullmqCluster(cluster()),
      prefix,
      logger: recordingLogger(),
      policies: { 'memory-digest': { ...policy, waitForReplicas: 1, waitForReplicasTimeoutMs: 1_000 } },
    });
    cleanups.push(() => worker.close({ timeoutMs: 2_000 }), () => producer.close({ timeoutMs: 2_000 }));
    return { worker, producer };
  }

  /** Waits until the worker blocks in BZPOPMIN on `node` (its fetch loop waits for jobs there). */
  const blockedOn = (node: LocalRedisServer): Promise<boolean> =>
    waitFor(async () => / cmd=bzpopmin /.test(await cluster().admin(node, (c) => c.client('LIST') as Promise<string>)), {
      description: `the worker to block in BZPOPMIN on ${node.port}`,
    });

  it(
    'a debounced job due during a failover runs once the cluster is back, even when the worker reset its blocking connection mid-failover',
    { timeout: 90_000 },
    async () => {
      const owner = await digestOwner();
      const { worker, producer } = queuesPair(3_000);
      const ran: number[] = [];
      const reg = worker.registerWorker({ queue: 'memory-digest', processor: async () => void ran.push(Date.now()), workerOptions: { stalledInterval: 500 } });
      await reg.worker.waitUntilReady();
      await blockedOn(owner.master);
      // BullMQ's own wait on the blocking connection: a reset (disconnect, then connect()) followed
      // by a ready check that failed shows up as 'end' then 'reconnecting'.
      const resetMetFailedCheck = watchResetThenFailedCheck(await reg.worker.backend.blockingClient!);

      // The replica may not fail over on its own until the test says so.
      await using failover = await cluster().holdFailover(owner);
      const ack = await producer.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w' });
      expect(ack.status).toBe('added');
      // The worker takes the delayed job's marker and blocks until it is due (3 s), on the master...
      // ...which is gone: the cluster notices (cluster_state:fail), BullMQ's watchdog abandons the
      // block 1 s after the job was due and resets the connection, whose ready check now fails.
      await failover.killMaster();
      await waitFor(resetMetFailedCheck, { timeoutMs: 15_000, description: "BullMQ's reset of the blocking connection to meet a failed ready check" });
      expect(ran).toHaveLength(0);

      // Fail over; the old master comes back (AOF) and rejoins as a replica while the worker recovers.
      const { failedOverAt, rejoined } = await failover.release();
      await waitFor(() => ran.length > 0, {
        timeoutMs: RECOVERY_BOUND_MS,
        description: `the digest to run within ${RECOVERY_BOUND_MS} ms of the failover`,
      }).finally(() => rejoined);
      expect(ran[0]! - failedOverAt).toBeLessThan(RECOVERY_BOUND_MS);
      expect(ran).toHaveLength(1);
    },
  );

  it(
    'natural failovers, again and again: a debounced job acknowledged just before the master dies runs within the bound',
    { timeout: 240_000 },
    async () => {
      const rounds = Number(process.env.LOTA_FAILOVER_ROUNDS ?? 4);
      const late: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const { master } = await digestOwner();
        // Due 800 ms after the add; the kill lands 100-290 ms after the ack (which waits for the
        // replica), so the job is still delayed when its master dies and falls due during the
        // failover (which takes 1-3 s). With 300 ms a slow WAIT on a loaded box let it run first.
        const { worker, producer } = queuesPair(800);
        const ran: number[] = [];
        const reg = worker.registerWorker({ queue: 'memory-digest', processor: async () => void ran.push(Date.now()), workerOptions: { stalledInterval: 500 } });
        await reg.worker.waitUntilReady();
        await blockedOn(master);
        await producer.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', round });
        await new Promise((resolve) => setTimeout(resolve, 100 + ((round * 61) % 190)));
        expect(ran).toHaveLength(0);
        await master.kill();
        await cluster().waitForHealthy(30_000);
        const failedOverAt = Date.now();
        const rejoined = master.restart().then(() => cluster().waitForHealthy(30_000));
        const ok = await waitFor(() => ran.length > 0, { timeoutMs: RECOVERY_BOUND_MS }).catch(() => false);
        await rejoined;
        if (!ok) late.push(`round ${round}: not run ${Date.now() - failedOverAt} ms after the failover`);
        for (const c of cleanups.splice(0).reverse()) await c();
      }
      expect(late).toEqual([]);
    },
  );
});
