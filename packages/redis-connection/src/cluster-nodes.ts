import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './client-factory.js';
import { isCluster } from './tracked-client.js';

/**
 * Every node client an ioredis Cluster made, including those its pool lost track of.
 *
 * ioredis' cluster connection pool (5.x, still 5.11) removes a node's client by *address* when a
 * node client ends: `redis.once('end', () => removeNode(key))`. When the pool disconnects the
 * client of a node and makes a new one for the same address before the old one's `end` arrives
 * (a slot refresh during a failover that drops the dead master and then sees it back as a
 * replica; or a reconnect right after a failed ready check), the old client's late `end` removes
 * the *new* client from the pool. That client stays connected: `Cluster#disconnect()` no longer
 * reaches it, so its socket outlives the cluster and keeps the process alive. Found by the fault
 * campaign: after a Cluster failover, a worker told to stop did not exit, holding a socket named
 * like a BullMQ worker's blocking connection whose last command was `CLUSTER INFO` or `READONLY`.
 *
 * {@link trackClusterNodes} keeps every node client the Cluster reports (`+node`) until it ends;
 * {@link closeStrayNodes} disconnects whatever is still open once the Cluster itself was closed.
 * A lost node client is left alone until then: it gets no new commands (they are routed through
 * the pool), and closing it earlier would cut the replies of commands it still carries.
 */

const tracked = new WeakMap<object, Set<Redis>>();

/** Starts tracking the node clients of a Cluster client (no-op for a single-node client; idempotent). */
export function trackClusterNodes(client: RedisClient): void {
  if (!isCluster(client) || tracked.has(client)) return;
  const cluster = client as Cluster;
  const nodes = new Set<Redis>();
  tracked.set(cluster, nodes);
  cluster.on('+node', (node: Redis) => {
    nodes.add(node);
    node.once('end', () => nodes.delete(node));
  });
}

/** The node clients of a Cluster that have not ended: those in its pool and those it lost. */
export function clusterNodeClients(client: RedisClient): Redis[] {
  const cluster = client as Cluster;
  return [...new Set<Redis>([...(tracked.get(cluster) ?? []), ...cluster.nodes('all')])];
}

/**
 * Disconnects every node client of a Cluster that is still open although the Cluster was closed
 * (see above). Returns how many it disconnected; 0 for a single-node client.
 */
export function closeStrayNodes(client: RedisClient): number {
  if (!isCluster(client)) return 0;
  const open = clusterNodeClients(client).filter((n) => n.status !== 'end');
  for (const node of open) node.disconnect();
  return open.length;
}
