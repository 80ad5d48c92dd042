import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startCluster, startSentinel, testkitCapabilities, waitFor } from '../src/index.js';

const caps = await testkitCapabilities();

describe.skipIf(!caps.topologies)('topologies', () => {
  it('startCluster: 3 masters + 1 replica each, slots covered, keys spread, failover promotes a replica', async () => {
    await using cluster = await startCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
    const view = await cluster.topology();
    expect(view.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(view.filter((n) => n.role === 'replica')).toHaveLength(3);

    const client = new Cluster(cluster.startupNodes.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })));
    client.on('error', () => undefined);
    try {
      for (let i = 0; i < 50; i++) await client.set(`key:${i}`, String(i));
      const perMaster = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
      expect(perMaster.filter((n) => n > 0)).toHaveLength(3);

      const [victim] = await cluster.masters();
      const victimId = view.find((n) => n.port === victim!.port)!.id;
      const replicaPort = view.find((n) => n.masterId === victimId)!.port;
      await victim!.kill();
      await waitFor(async () => (await cluster.masters()).some((m) => m.port === replicaPort), {
        timeoutMs: 20_000,
        description: 'the replica to be promoted',
      });
      await cluster.waitForHealthy();
    } finally {
      client.disconnect();
    }
  });

  it('slotOwner and holdFailover: the replica takes over only when released, and the old master rejoins as a replica', { timeout: 60_000 }, async () => {
    await using cluster = await startCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000, node: { password: 'held-pw', appendOnly: true } });
    const owner = await cluster.slotOwner('{held}');
    expect(owner.replicas).toHaveLength(1);
    const role = (port: number): Promise<string | undefined> => cluster.topology().then((view) => view.find((n) => n.port === port)?.role);
    expect(await role(owner.master.port)).toBe('master');

    await using failover = await cluster.holdFailover(owner);
    await failover.killMaster(); // returns once the cluster reports the master failed
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // past the node timeout: still no promotion
    expect(await role(owner.replicas[0]!.port)).toBe('replica');

    const { failedOverAt, rejoined } = await failover.release();
    expect(failedOverAt).toBeLessThanOrEqual(Date.now());
    expect(await role(owner.replicas[0]!.port)).toBe('master');
    await rejoined;
    expect(await role(owner.master.port)).toBe('replica');
    expect((await cluster.slotOwner('{held}')).master.port).toBe(owner.replicas[0]!.port);
  });

  it('startSentinel: 1 primary, 2 replicas, 3 sentinels; killing the primary fails over', async () => {
    await using topo = await startSentinel({ replicas: 2, sentinels: 3, downAfterMs: 500, failoverTimeoutMs: 2_000 });
    expect(topo.sentinelAddresses).toHaveLength(3);
    const primary = await topo.primary();
    expect(primary.port).toBe(topo.dataNodes[0]!.port);

    const client = new Redis({
      sentinels: topo.sentinelAddresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
      name: topo.name,
    });
    client.on('error', () => undefined);
    try {
      await client.set('before', '1');
      await primary.kill();
      const next = await topo.waitForFailover(primary.port);
      expect(next.port).not.toBe(primary.port);
      await waitFor(async () => (await client.set('after', '2')) === 'OK', { timeoutMs: 20_000, description: 'writes through sentinel' });
      expect(await client.get('after')).toBe('2');
    } finally {
      client.disconnect();
    }
  });
});
