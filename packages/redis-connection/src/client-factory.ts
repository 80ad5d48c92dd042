import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ResolvedRedisConfig } from './options.js';

/** A client the manager hands out: a single-node/sentinel `Redis` or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Which pool a client belongs to. */
export type ClientRole = 'general' | 'bullmq' | 'bullmq-duplicate' | 'general-duplicate';

/**
 * After a failover the old primary answers writes with READONLY. Reconnecting (and resending
 * the rejected command: it was not executed) lets ioredis / Sentinel find the new primary.
 * Returning 2 = reconnect and resend.
 */
function reconnectOnReadonly(err: Error): 2 | false {
  return err.message.startsWith('READONLY') ? 2 : false;
}

/**
 * How long ioredis waits for the server's FIN after sending its own before destroying the
 * socket (its default is 2 s). The manager only hard-closes after a polite QUIT had its chance,
 * and a health check only after a PING went unanswered, so waiting longer buys nothing and
 * would keep the process alive after `disconnect()`.
 */
export const HARD_CLOSE_MS = 100;

function nodeOptions(cfg: ResolvedRedisConfig, role: 'general' | 'bullmq'): RedisOptions {
  const t = cfg.target;
  const opts: RedisOptions = {
    lazyConnect: true,
    connectTimeout: cfg.connectTimeoutMs,
    connectionName: `${cfg.connectionName}:${role}`,
    reconnectOnError: reconnectOnReadonly,
    disconnectTimeout: HARD_CLOSE_MS,
    // ioredis' own backoff (min(times*50, 2000) ms + jitter) does reconnection; nothing home-made.
  };
  if (t.username !== undefined) opts.username = t.username;
  if (t.password !== undefined) opts.password = t.password;
  if (t.tls) opts.tls = t.tls;
  if (t.kind !== 'cluster' && t.db) opts.db = t.db;
  if (role === 'bullmq') {
    // BullMQ requires it: blocking commands must wait for Redis to come back, never fail after N retries.
    opts.maxRetriesPerRequest = null;
  } else {
    // Finite retries (ioredis' default) plus a deadline, so request paths never hang.
    opts.maxRetriesPerRequest = 20;
    opts.commandTimeout = cfg.commandTimeoutMs;
  }
  return opts;
}

/** Creates one (not yet connected) client of `role` for the configured target. */
export function createClient(cfg: ResolvedRedisConfig, role: 'general' | 'bullmq'): RedisClient {
  const t = cfg.target;
  const node = nodeOptions(cfg, role);
  if (t.kind === 'cluster') {
    const clusterOpts: ClusterOptions = {
      lazyConnect: true,
      redisOptions: node,
      enableOfflineQueue: true,
      slotsRefreshTimeout: Math.min(cfg.connectTimeoutMs, 2_000),
      // ioredis gives up on a slot after 16 redirections x 100 ms (~1.6 s), less than a failover
      // takes (cluster-node-timeout plus the election). Retry for ~30 s on the BullMQ client (workers
      // and completions must survive a failover) and ~5 s on the general one (request paths are
      // bounded by their own deadlines anyway).
      maxRedirections: role === 'bullmq' ? 100 : 16,
      retryDelayOnFailover: 300,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 300,
    };
    return new Cluster(t.nodes, clusterOpts);
  }
  if (t.kind === 'sentinel') {
    return new Redis({
      ...node,
      sentinels: t.sentinels,
      name: t.name,
      role: 'master',
      // No failoverDetector: with ioredis 5.11 it can fire while the client is re-resolving the
      // master and leave it ended for good (seen in this repo's failover drills). The client finds
      // the new primary on its own reconnect, and a READONLY reply reconnects it too.
      ...(t.sentinelUsername === undefined ? {} : { sentinelUsername: t.sentinelUsername }),
      ...(t.sentinelPassword === undefined ? {} : { sentinelPassword: t.sentinelPassword }),
      ...(t.sentinelTls ? { enableTLSForSentinelMode: true, sentinelTLS: t.tls ?? {} } : {}),
    });
  }
  return new Redis({ ...node, host: t.host, port: t.port });
}
