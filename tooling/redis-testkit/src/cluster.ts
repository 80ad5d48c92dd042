import { withAdmin, parseInfo } from './admin.js';
import { holdFailover, slotOwner, type HeldFailover, type NodeAdmin, type SlotOwner } from './cluster-failover.js';
import { TestkitStartError } from './errors.js';
import { LocalRedisServer } from './local-server.js';
import { requireBinary, serverDirectives } from './start-redis.js';
import type { StartRedisOptions } from './server.js';
import { waitFor } from './wait.js';

export interface StartClusterOptions {
  /** Number of masters; the 16 384 slots are split evenly. @defaultValue 3 */
  masters?: number;
  /** Replicas per master. @defaultValue 0 */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how fast a dead master is failed over. @defaultValue 2_000 */
  nodeTimeoutMs?: number;
  /** Per-node options (AOF, maxmemory, password). TLS is not supported for clusters here. */
  node?: Omit<StartRedisOptions, 'tls' | 'backend' | 'users'>;
}

export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  connected: boolean;
  /** Master's id, for a replica. */
  masterId: string | undefined;
}

/** A Redis Cluster made of local redis-server processes. */
export interface RedisClusterTopology extends AsyncDisposable {
  /** Every node, masters first in start order (roles change on failover: see {@link topology}). */
  readonly nodes: LocalRedisServer[];
  /** `127.0.0.1:port` for each node: pass as startup nodes. */
  readonly startupNodes: string[];
  /** The cluster's view from a live node: current roles and links. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** Nodes that are masters right now. */
  masters(): Promise<LocalRedisServer[]>;
  /** Waits until every running node reports `cluster_state:ok` and agrees on the masters. */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** Runs admin commands on one node over a short-lived connection (with the cluster's password). */
  admin: NodeAdmin;
  /** The master serving `key`'s slot now (hash tags apply), and its replicas. */
  slotOwner(key: string): Promise<SlotOwner>;
  /** Keeps the replicas of `owner.master` from taking over until the test releases them (see {@link HeldFailover}). */
  holdFailover(owner: SlotOwner): Promise<HeldFailover>;
  /** Stops every node and removes their dirs. */
  dispose(): Promise<void>;
}

const SLOTS = 16_384;

function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', addr = '', flags = '', master = '-', , , , link = ''] = line.split(' ');
      const port = Number(addr.split('@')[0]?.split(':').pop());
      const flagSet = new Set(flags.split(','));
      return {
        id,
        port,
        role: flagSet.has('master') ? 'master' : 'replica',
        connected: link === 'connected' && !flagSet.has('fail') && !flagSet.has('fail?'),
        masterId: master === '-' ? undefined : master,
      } satisfies ClusterNodeInfo;
    });
}

/**
 * Starts `masters × (1 + replicasPerMaster)` cluster-enabled servers and joins them by hand
 * (SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET, REPLICATE), then waits until all nodes agree.
 * Doing it with plain commands keeps the testkit independent of redis-cli's prompts.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<RedisClusterTopology> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2_000;
  if (!Number.isInteger(masters) || masters < 1) throw new TypeError('startCluster: masters must be an integer >= 1');
  if (!Number.isInteger(replicas) || replicas < 0) throw new TypeError('startCluster: replicasPerMaster must be an integer >= 0');
  const binary = requireBinary('startCluster');
  const nodeOpts = opts.node ?? {};
  const password = nodeOpts.password;
  const directives = [
    ...serverDirectives(nodeOpts),
    ['cluster-enabled', 'yes'] as [string, string],
    ['cluster-config-file', 'nodes.conf'] as [string, string],
    ['cluster-node-timeout', nodeTimeoutMs] as [string, number],
    ['cluster-announce-ip', '127.0.0.1'] as [string, string],
    ...(password ? [['masterauth', password] as [string, string]] : []),
  ];
  const total = masters * (1 + replicas);
  const nodes: LocalRedisServer[] = [];
  try {
    for (let i = 0; i < total; i++) {
      nodes.push(
        await LocalRedisServer.start({
          binary,
          directives,
          label: 'cluster',
          ...(password ? { password } : {}),
        }),
      );
    }
    const admin = <T>(node: LocalRedisServer, fn: Parameters<typeof withAdmin<T>>[1]): Promise<T> =>
      withAdmin({ host: node.host, port: node.port, password }, fn);

    const masterNodes = nodes.slice(0, masters);
    for (const [i, node] of masterNodes.entries()) {
      const from = Math.floor((i * SLOTS) / masters);
      const to = Math.floor(((i + 1) * SLOTS) / masters) - 1;
      await admin(node, async (c) => {
        await c.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1));
        await c.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
      });
    }
    const first = nodes[0]!;
    for (const node of nodes.slice(1)) {
      await admin(node, (c) => c.call('CLUSTER', 'MEET', first.host, String(first.port)));
    }
    const ids = await Promise.all(nodes.map((n) => admin(n, (c) => c.call('CLUSTER', 'MYID') as Promise<string>)));
    await waitFor(
      async () => {
        for (const node of nodes) {
          const known = parseClusterNodes((await admin(node, (c) => c.call('CLUSTER', 'NODES'))) as string);
          if (known.length < total) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, description: 'cluster nodes to meet each other' },
    );
    for (let r = 0; r < replicas; r++) {
      for (let m = 0; m < masters; m++) {
        const replica = nodes[masters + m * replicas + r]!;
        await admin(replica, (c) => c.call('CLUSTER', 'REPLICATE', ids[m]!));
      }
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.dispose()));
    throw err;
  }

  const cluster: RedisClusterTopology = {
    nodes,
    startupNodes: nodes.map((n) => `${n.host}:${n.port}`),
    async topology() {
      for (const node of nodes) {
        if (!node.running || node.paused) continue;
        try {
          const text = (await withAdmin({ host: node.host, port: node.port, password }, (c) =>
            c.call('CLUSTER', 'NODES'),
          )) as string;
          return parseClusterNodes(text);
        } catch {
          // try the next node
        }
      }
      throw new TestkitStartError('redis-testkit: no cluster node answers');
    },
    async masters() {
      const view = await cluster.topology();
      const masterPorts = new Set(view.filter((n) => n.role === 'master' && n.connected).map((n) => n.port));
      return nodes.filter((n) => masterPorts.has(n.port));
    },
    async waitForHealthy(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const live = nodes.filter((n) => n.running && !n.paused);
          for (const node of live) {
            const ok = await withAdmin({ host: node.host, port: node.port, password }, async (c) => {
              const info = parseInfo((await c.call('CLUSTER', 'INFO')) as string);
              if (info.cluster_state !== 'ok') return false;
              const view = parseClusterNodes((await c.call('CLUSTER', 'NODES')) as string);
              const liveMasters = view.filter((v) => v.role === 'master' && v.connected);
              if (liveMasters.length !== masters) return false;
              if (view.some((v) => v.connected && v.role === 'replica' && v.port === node.port)) {
                const repl = parseInfo((await c.call('INFO', 'replication')) as string);
                if (repl.master_link_status !== 'up') return false;
              }
              return true;
            });
            if (!ok) return false;
          }
          return true;
        },
        { timeoutMs, description: 'the cluster to report cluster_state:ok on every node' },
      );
    },
    admin: (node, fn) => withAdmin({ host: node.host, port: node.port, password }, fn),
    slotOwner: (key) => slotOwner(nodes, cluster.admin, () => cluster.topology(), key),
    holdFailover: (owner) => holdFailover(owner, cluster.admin, (timeoutMs) => cluster.waitForHealthy(timeoutMs)),
    async dispose() {
      await Promise.all(nodes.map((n) => n.dispose()));
    },
    async [Symbol.asyncDispose]() {
      await cluster.dispose();
    },
  };
  try {
    await cluster.waitForHealthy();
  } catch (err) {
    await cluster.dispose();
    throw err;
  }
  return cluster;
}
