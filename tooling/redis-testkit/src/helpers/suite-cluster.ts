import { afterAll, beforeAll } from 'vitest';
import { startCluster, type RedisClusterTopology, type StartClusterOptions } from '../cluster.js';

/**
 * A Redis Cluster for the enclosing `describe`: started before its first test, disposed after
 * its last. Returns the way to reach it inside tests (it does not exist at load time).
 */
export function suiteCluster(options: StartClusterOptions = {}): () => RedisClusterTopology {
  let cluster: RedisClusterTopology | undefined;
  beforeAll(async () => {
    cluster = await startCluster(options);
  }, 60_000);
  afterAll(async () => {
    await cluster?.dispose();
  });
  return () => {
    if (!cluster) throw new Error('suiteCluster: the cluster is used before beforeAll ran');
    return cluster;
  };
}
