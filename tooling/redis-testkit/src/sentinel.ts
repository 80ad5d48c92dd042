import { parseInfo, withAdmin } from './admin.js';
import { TestkitStartError } from './errors.js';
import { LocalRedisServer } from './local-server.js';
import { requireBinary, serverDirectives } from './start-redis.js';
import type { StartRedisOptions } from './server.js';
import { waitFor } from './wait.js';

export interface StartSentinelOptions {
  /** Name of the monitored primary. @defaultValue 'lota-primary' */
  name?: string;
  /** Replicas of the primary. @defaultValue 2 */
  replicas?: number;
  /** Sentinel processes. @defaultValue 3 */
  sentinels?: number;
  /** Sentinels that must agree the primary is down. @defaultValue majority of `sentinels` */
  quorum?: number;
  /** `down-after-milliseconds`. @defaultValue 1_000 */
  downAfterMs?: number;
  /** `failover-timeout`. @defaultValue 5_000 */
  failoverTimeoutMs?: number;
  /** Options for the data nodes (AOF, password...). */
  node?: Omit<StartRedisOptions, 'tls' | 'backend' | 'users'>;
}

/** A Sentinel-managed primary with replicas, all local processes. */
export interface RedisSentinelTopology extends AsyncDisposable {
  readonly name: string;
  /** Data nodes: the initial primary first, then the replicas. */
  readonly dataNodes: LocalRedisServer[];
  readonly sentinels: LocalRedisServer[];
  /** `127.0.0.1:port` of every sentinel. */
  readonly sentinelAddresses: string[];
  /** The primary the sentinels agree on right now. */
  primary(): Promise<LocalRedisServer>;
  /** Waits until a majority of live sentinels name a primary other than `oldPort`, and it answers as master. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<LocalRedisServer>;
  dispose(): Promise<void>;
}

/**
 * Starts one primary, `replicas` replicas and `sentinels` sentinels, and waits until every
 * sentinel knows the primary, all replicas and all other sentinels, so a failover can happen.
 */
export async function startSentinel(opts: StartSentinelOptions = {}): Promise<RedisSentinelTopology> {
  const name = opts.name ?? 'lota-primary';
  const replicaCount = opts.replicas ?? 2;
  const sentinelCount = opts.sentinels ?? 3;
  const quorum = opts.quorum ?? Math.floor(sentinelCount / 2) + 1;
  const binary = requireBinary('startSentinel');
  const nodeOpts = opts.node ?? {};
  const password = nodeOpts.password;
  const dataNodes: LocalRedisServer[] = [];
  const sentinels: LocalRedisServer[] = [];
  const disposeAll = async (): Promise<void> => {
    await Promise.all([...sentinels, ...dataNodes].map((n) => n.dispose()));
  };
  try {
    const base = [
      ...serverDirectives(nodeOpts),
      ...(password ? [['masterauth', password] as [string, string]] : []),
      ['replica-announce-ip', '127.0.0.1'] as [string, string],
    ];
    const primary = await LocalRedisServer.start({ binary, directives: base, label: 'primary', ...(password ? { password } : {}) });
    dataNodes.push(primary);
    for (let i = 0; i < replicaCount; i++) {
      dataNodes.push(
        await LocalRedisServer.start({
          binary,
          directives: [...base, ['replicaof', primary.host, primary.port]],
          label: 'replica',
          ...(password ? { password } : {}),
        }),
      );
    }
    for (let i = 0; i < sentinelCount; i++) {
      sentinels.push(
        await LocalRedisServer.start({
          binary,
          sentinel: true,
          label: 'sentinel',
          directives: [
            ['sentinel', 'announce-ip', '127.0.0.1'],
            ['sentinel', 'monitor', name, primary.host, primary.port, quorum],
            ['sentinel', 'down-after-milliseconds', name, opts.downAfterMs ?? 1_000],
            ['sentinel', 'failover-timeout', name, opts.failoverTimeoutMs ?? 5_000],
            ['sentinel', 'parallel-syncs', name, 1],
            ...(password ? [['sentinel', 'auth-pass', name, password] as [string, ...string[]]] : []),
          ],
        }),
      );
    }
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const ok = await withAdmin(s, async (c) => {
            const replicasSeen = (await c.call('SENTINEL', 'REPLICAS', name)) as unknown[];
            const peers = (await c.call('SENTINEL', 'SENTINELS', name)) as unknown[];
            return replicasSeen.length === replicaCount && peers.length === sentinelCount - 1;
          });
          if (!ok) return false;
        }
        for (const r of dataNodes.slice(1)) {
          const info = await withAdmin({ host: r.host, port: r.port, password }, async (c) => parseInfo((await c.call('INFO', 'replication')) as string));
          if (info.master_link_status !== 'up') return false;
        }
        return true;
      },
      { timeoutMs: 30_000, description: 'sentinels to discover the replicas and each other' },
    );
  } catch (err) {
    await disposeAll();
    throw err;
  }

  const byPort = (port: number): LocalRedisServer => {
    const node = dataNodes.find((n) => n.port === port);
    if (!node) throw new TestkitStartError(`redis-testkit: sentinels name an unknown primary on port ${port}`);
    return node;
  };
  const askSentinels = async (): Promise<number[]> => {
    const answers: number[] = [];
    for (const s of sentinels) {
      if (!s.running || s.paused) continue;
      try {
        const addr = (await withAdmin(s, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as [string, string];
        answers.push(Number(addr[1]));
      } catch {
        // a sentinel that does not answer does not vote
      }
    }
    return answers;
  };

  const topology: RedisSentinelTopology = {
    name,
    dataNodes,
    sentinels,
    sentinelAddresses: sentinels.map((s) => `${s.host}:${s.port}`),
    async primary() {
      const answers = await askSentinels();
      if (answers.length === 0) throw new TestkitStartError('redis-testkit: no sentinel answers');
      return byPort(answers[0]!);
    },
    async waitForFailover(oldPort, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const answers = await askSentinels();
          const moved = answers.filter((p) => p !== oldPort);
          if (moved.length < Math.floor(sentinelCount / 2) + 1) return undefined;
          const node = byPort(moved[0]!);
          const role = await withAdmin({ host: node.host, port: node.port, password }, async (c) =>
            parseInfo((await c.call('INFO', 'replication')) as string).role,
          );
          return role === 'master' ? node : undefined;
        },
        { timeoutMs, description: `sentinels to fail over away from port ${oldPort}` },
      );
    },
    dispose: disposeAll,
    async [Symbol.asyncDispose]() {
      await disposeAll();
    },
  };
  return topology;
}
