/**
 * A Cluster node client that ioredis' pool lost track of while it was open.
 *
 * ioredis' cluster pool removes a node's client by address when a node client ends. When it
 * replaces a node's client and the old one's `end` comes after the new one was made (a slot
 * refresh during a failover), the new client leaves the pool while connected: the Cluster's
 * disconnect() never reaches it. Found by the fault campaign (after a Cluster failover a worker
 * told to stop did not exit, holding a socket of a BullMQ blocking connection). The tests make
 * the same interleaving happen on purpose, through the pool the failover goes through: two
 * resets in one tick, the second before the first's node clients have ended.
 *
 * Before the fix both failed: the three lost node clients were still `ready`, their sockets open,
 * after disconnect() resolved (and the blocked commands never settled).
 */
import { clientNames, startCluster, testkitCapabilities, waitFor, withAdmin, type RedisClusterTopology } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnectionManager, type RedisConnectionManager } from '../src/index.js';

const caps = await testkitCapabilities();

/** The pool ioredis keeps behind a Cluster (internal; the interleaving below is a failover's). */
interface PoolInternals {
  nodes: { all: Record<string, Redis> };
  reset(nodes: Array<{ host: string; port: number; readOnly: boolean }>): void;
}

describe.skipIf(!caps.topologies)('Cluster node clients outside the pool (3 masters)', () => {
  let cluster: RedisClusterTopology;
  beforeAll(async () => {
    cluster = await startCluster({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.dispose();
  });

  async function openConnections(name: string): Promise<number> {
    let n = 0;
    for (const node of cluster.nodes) n += clientNames(await withAdmin(node, (a) => a.client('LIST') as Promise<string>)).filter((c) => c === name).length;
    return n;
  }

  /**
   * A connected manager whose general Cluster client is about to lose its three node clients: the
   * pool replaces every node client, and the old ones have not ended when the new ones are made.
   * Each old client's late 'end' then removes its successor from the pool (once they connect).
   */
  async function managerLosingNodeClients(connectionName: string): Promise<{ m: RedisConnectionManager; general: Cluster; lost: Redis[] }> {
    const m = createRedisConnectionManager({ cluster: { nodes: cluster.startupNodes }, connectionName, logger: recordingLogger(), healthCheckIntervalMs: 0 });
    await m.connect();
    const general = m.getConnection() as Cluster;
    const pool = (general as unknown as { connectionPool: PoolInternals }).connectionPool;
    const addresses = Object.values(pool.nodes.all).map((r) => ({ host: r.options.host!, port: r.options.port!, readOnly: false }));
    expect(addresses).toHaveLength(3);
    pool.reset([]);
    pool.reset(addresses);
    return { m, general, lost: Object.values(pool.nodes.all) };
  }

  it('node clients the pool lost while open: the cluster keeps working, and none outlives disconnect()', { timeout: 30_000 }, async () => {
    const { m, general, lost } = await managerLosingNodeClients('strays');
    expect(await Promise.all(lost.map((r) => r.ping()))).toEqual(['PONG', 'PONG', 'PONG']);
    await waitFor(() => lost.every((r) => !general.nodes('all').includes(r)), { description: "ioredis' pool to drop the new node clients" });
    expect(lost.map((r) => r.status)).toEqual(['ready', 'ready', 'ready']);
    // The cluster keeps working on node clients its pool makes again.
    expect(await general.set('k{1}', 'v')).toBe('OK');
    expect(await general.get('k{1}')).toBe('v');

    await m.disconnect({ timeoutMs: 1_000 });
    expect(lost.map((r) => r.status)).toEqual(['end', 'end', 'end']);
    await waitFor(async () => (await openConnections('strays:general')) === 0, {
      timeoutMs: 2_000,
      description: 'no connection of the manager to remain open after disconnect()',
    });
  });

  it('disconnect() closes node clients the pool lost in the middle of a blocking command, and rejects the command', { timeout: 30_000 }, async () => {
    const { m, general, lost } = await managerLosingNodeClients('strays2');
    // Lost while blocked in a command that will not return before disconnect().
    // (WAIT for a replica these masters do not have: blocks 30 s, whatever slots the node serves.)
    const blocked = lost.map((r) => r.call('WAIT', 1, 30_000).catch((e: unknown) => e));
    await waitFor(() => lost.every((r) => !general.nodes('all').includes(r)), { description: "ioredis' pool to drop the new node clients" });
    expect(lost.every((r) => r.status === 'ready')).toBe(true);
    expect(await openConnections('strays2:general')).toBeGreaterThanOrEqual(3);

    const started = Date.now();
    await m.disconnect({ timeoutMs: 1_000 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(lost.map((r) => r.status)).toEqual(['end', 'end', 'end']);
    for (const outcome of await Promise.all(blocked)) expect(String(outcome)).toMatch(/Connection is closed/);
    await waitFor(async () => (await openConnections('strays2:general')) === 0, { timeoutMs: 2_000, description: 'no connection of the manager to remain open' });
  });
});
