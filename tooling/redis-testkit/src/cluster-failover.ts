import type { Redis } from 'ioredis';
import type { ClusterNodeInfo } from './cluster.js';
import type { LocalRedisServer } from './local-server.js';
import { waitFor } from './wait.js';

/** Runs admin commands on one node of the cluster (with the cluster's password). */
export type NodeAdmin = <T>(node: LocalRedisServer, fn: (client: Redis) => Promise<T>) => Promise<T>;

/** The master that serves a key's slot, and its replicas. */
export interface SlotOwner {
  master: LocalRedisServer;
  replicas: LocalRedisServer[];
}

/**
 * A failover that happens when the test says so: every replica of `master` is told not to take
 * over (`cluster-replica-no-failover yes`), so a test can watch its clients with the master dead
 * and the cluster down (`cluster_state:fail`) before any promotion.
 */
export interface HeldFailover extends AsyncDisposable {
  readonly master: LocalRedisServer;
  readonly replicas: readonly LocalRedisServer[];
  /** SIGKILLs the master, then waits until a replica reports `cluster_state:fail`. */
  killMaster(): Promise<void>;
  /**
   * Lets a replica take over and waits for a healthy cluster; then restarts the old master (same
   * port and data dir: with AOF it keeps its data) so it rejoins as a replica. Resolves with the
   * time the cluster was healthy again (`Date.now()`) and the rejoin, which the test awaits
   * before it ends.
   */
  release(timeoutMs?: number): Promise<{ failedOverAt: number; rejoined: Promise<void> }>;
  /** Lets the replicas fail over again (idempotent; errors ignored): for a test that ended early. */
  dispose(): Promise<void>;
}

type SlotsReply = Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;

/** Finds who serves `key` now, asking the first running node. */
export async function slotOwner(nodes: readonly LocalRedisServer[], admin: NodeAdmin, topology: () => Promise<ClusterNodeInfo[]>, key: string): Promise<SlotOwner> {
  const node = nodes.find((n) => n.running && !n.paused);
  if (!node) throw new Error('redis-testkit: no cluster node is running');
  const [slot, slots] = await admin(node, async (c) => [(await c.call('CLUSTER', 'KEYSLOT', key)) as number, (await c.call('CLUSTER', 'SLOTS')) as SlotsReply] as const);
  const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
  if (!range) throw new Error(`redis-testkit: no master serves slot ${slot} (key '${key}')`);
  const view = await topology();
  const masterPort = range[2][1];
  const masterId = view.find((n) => n.port === masterPort)?.id;
  const replicaPorts = new Set(view.filter((n) => n.role === 'replica' && n.masterId === masterId).map((n) => n.port));
  const master = nodes.find((n) => n.port === masterPort);
  if (!master) throw new Error(`redis-testkit: the master of slot ${slot} (port ${masterPort}) is not a node of this cluster`);
  return { master, replicas: nodes.filter((n) => replicaPorts.has(n.port)) };
}

/** See {@link HeldFailover}; `waitForHealthy` is the cluster's own. */
export async function holdFailover(owner: SlotOwner, admin: NodeAdmin, waitForHealthy: (timeoutMs?: number) => Promise<void>): Promise<HeldFailover> {
  const { master, replicas } = owner;
  if (replicas.length === 0) throw new Error(`redis-testkit: the master on port ${master.port} has no replica to fail over to`);
  const allow = (value: 'yes' | 'no'): Promise<unknown> => Promise.all(replicas.map((r) => admin(r, (c) => c.config('SET', 'cluster-replica-no-failover', value))));
  await allow('yes');
  let held = true;
  const dispose = async (): Promise<void> => {
    if (!held) return;
    held = false;
    await allow('no').catch(() => undefined);
  };
  return {
    master,
    replicas,
    async killMaster() {
      await master.kill();
      const witness = replicas[0]!;
      await waitFor(async () => /cluster_state:fail/.test(await admin(witness, (c) => c.call('CLUSTER', 'INFO') as Promise<string>)), {
        timeoutMs: 10_000,
        description: 'the cluster to report the master failed',
      });
    },
    async release(timeoutMs = 30_000) {
      held = false;
      await allow('no');
      await waitForHealthy(timeoutMs);
      const failedOverAt = Date.now();
      const rejoined = master.restart().then(() => waitForHealthy(timeoutMs));
      rejoined.catch(() => undefined); // awaited by the test; never an unhandled rejection meanwhile
      return { failedOverAt, rejoined };
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

/**
 * Watches an ioredis client for a reset that met a failed ready check: an 'end' (the connection
 * was closed, as BullMQ's watchdog does to a worker's blocking client) and then a 'reconnecting'
 * (the next connection's ready check failed, say on `cluster_state:fail`). Returns a probe for
 * {@link waitFor}.
 */
export function watchResetThenFailedCheck(client: { on(event: 'end' | 'reconnecting', listener: () => void): unknown }): () => boolean {
  let reset = false;
  let metFailedCheck = false;
  client.on('end', () => void (reset = true));
  client.on('reconnecting', () => void (metFailedCheck ||= reset));
  return () => metFailedCheck;
}
