import { startCluster, waitFor, type RedisClusterTopology } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_QUEUES, createQueues, queuePrefix } from '../src/index.js';
import { caps } from './helpers.js';

describe.skipIf(!caps.topologies)('Redis Cluster hash tags', () => {
  let cluster: RedisClusterTopology;
  let connection: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ masters: 3 });
    connection = new Cluster(cluster.startupNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })), {
      redisOptions: { maxRetriesPerRequest: null },
    });
    await waitFor(() => connection.status === 'ready');
  }, 60_000);
  afterAll(async () => {
    connection.disconnect();
    await cluster.dispose();
  });

  it('every key of a queue shares one slot; the four built-in queues use four different slots', async () => {
    const q = createQueues({ connection, prefix: 'lota', logger: recordingLogger(), policies: { 'memory-digest': { debounceMs: 60_000 } } });
    await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't' });
    await q.enqueueContextCompaction({ orgId: 'o', workstreamId: 'w' });
    await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w' });
    const keys = (await Promise.all(connection.nodes('master').map((n) => n.keys('lota:*')))).flat();
    const slotsByQueue = new Map<string, Set<number>>();
    for (const name of BUILT_IN_QUEUES) {
      const mine = keys.filter((k) => k.startsWith(`${queuePrefix('lota', name)}:`));
      expect(mine.length, name).toBeGreaterThan(2);
      slotsByQueue.set(name, new Set(mine.map((k) => calculateSlot(k))));
    }
    for (const [name, slots] of slotsByQueue) expect(slots.size, name).toBe(1);
    const distinct = new Set([...slotsByQueue.values()].map((s) => [...s][0]));
    expect(distinct.size).toBe(4);
    // They also spread over more than one master.
    const owners = new Set(
      [...distinct].map((slot) => connection.slots[slot!]?.[0]),
    );
    expect(owners.size).toBeGreaterThan(1);
    await q.close();
  });
});
