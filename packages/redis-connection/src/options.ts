import { z } from 'zod';
import { ConfigError, createStderrLogger, ResolvedMarks, isLogger, joinPath, KEY_PREFIX, KEY_PREFIX_RULE, NOT_A_LOGGER, zodIssues, type Logger, type OptionIssue, type OptionsResult } from '@lota/shared';
import { parseTarget, type ConnectionTarget } from './target.js';

/** TLS settings for `rediss://` targets (and cluster nodes / sentinel data nodes). */
export interface RedisTlsOptions {
  /** CA certificate(s) to trust, PEM. @defaultValue Node's bundled CAs */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate, PEM, for servers that require client auth. */
  cert?: string | Buffer;
  /** Client private key, PEM. */
  key?: string | Buffer;
  /** SNI / certificate host name to verify. @defaultValue the URL's host */
  servername?: string;
  /** Verify the server certificate. Only turn off for local experiments. @defaultValue true */
  rejectUnauthorized?: boolean;
}

/** Configuration of {@link createRedisConnectionManager}. Give `url`, or `cluster`, or `sentinel`. */
export interface RedisConfig {
  /**
   * `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS.
   * With `sentinel`, only the credentials, db and scheme are used (the host comes from the sentinels).
   * @defaultValue 'redis://localhost:6379'
   */
  url?: string;
  /** Redis Cluster: seed nodes as `host:port` or `redis[s]://[user:pass@]host:port`. */
  cluster?: { nodes: string[] };
  /** Sentinel-managed primary: sentinel addresses (`host:port`) and the primary's name. */
  sentinel?: {
    sentinels: string[];
    name: string;
    /** ACL user for the sentinels themselves. */
    username?: string;
    /** Password for the sentinels themselves (the primary's comes from `url`/`password`). */
    password?: string;
    /** Talk TLS to the sentinels. @defaultValue false */
    tls?: boolean;
  };
  /** ACL user for data nodes; overrides the URL's. */
  username?: string;
  /** Password for data nodes; overrides the URL's. Never logged. */
  password?: string;
  /** Database index (standalone and sentinel only). @defaultValue from the URL, else 0 */
  db?: number;
  /** TLS settings; giving them turns TLS on even for `redis://`. */
  tls?: RedisTlsOptions;
  /** Namespace of every key the SDK writes. It is NOT an ioredis `keyPrefix` (BullMQ forbids one). @defaultValue 'lota' */
  keyPrefix?: string;
  /** How often every client is PINGed; 0 turns health checks off. @defaultValue 30_000 */
  healthCheckIntervalMs?: number;
  /** A PING slower than this forces that client to reconnect. @defaultValue 5_000 */
  healthCheckTimeoutMs?: number;
  /** Bound on `connect()` and on each TCP/TLS connect attempt. @defaultValue 10_000 */
  connectTimeoutMs?: number;
  /**
   * Deadline of every command on the general client (it also bounds waiting in ioredis'
   * offline queue while Redis is down). BullMQ clients have none: they block by design.
   * @defaultValue 10_000
   */
  commandTimeoutMs?: number;
  /**
   * Extra time a PING on a worker's blocking connection gets: it queues behind the blocking
   * command (BullMQ blocks at most 10 s, and abandons a block 1 s later).
   * @defaultValue 11_000
   */
  healthCheckBlockingGraceMs?: number;
  /** Warn at `connect()` when `maxmemory-policy` is not `noeviction`. Turn off for a cache-only Redis. @defaultValue true */
  warnOnEviction?: boolean;
  /** Prefix of `CLIENT SETNAME` for every connection, so they are easy to find in `CLIENT LIST`. @defaultValue 'lota' */
  connectionName?: string;
  /** pino-compatible logger. @defaultValue warnings and errors to stderr */
  logger?: Logger;
}

/** {@link RedisConfig} with defaults applied and the target parsed. */
export interface ResolvedRedisConfig {
  target: ConnectionTarget;
  keyPrefix: string;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  healthCheckBlockingGraceMs: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  warnOnEviction: boolean;
  connectionName: string;
  logger: Logger;
}

/**
 * Every default of {@link RedisConfig}, in one place: the manager and `@lota/runtime` read them
 * from here, never from a literal of their own.
 */
export const DEFAULTS = Object.freeze({
  /**
   * A local server on the standard port: what `redis-server` listens on out of the box.
   * @defaultValue 'redis://localhost:6379'
   */
  url: 'redis://localhost:6379',
  /**
   * One namespace for every key the SDK writes, so a shared Redis stays readable in `SCAN`.
   * @defaultValue 'lota'
   */
  keyPrefix: 'lota',
  /**
   * Often enough to find a half-open TCP connection before users do, rare enough to cost nothing.
   * @defaultValue 30_000
   */
  healthCheckIntervalMs: 30_000,
  /**
   * A PING is answered in well under a millisecond; 5 s means the connection is gone, not slow.
   * @defaultValue 5_000
   */
  healthCheckTimeoutMs: 5_000,
  /**
   * BullMQ blocks at most 10 s and abandons a block 1 s later: a worker's PING waits behind it.
   * @defaultValue 11_000
   */
  healthCheckBlockingGraceMs: 11_000,
  /**
   * Long enough for TLS and a Sentinel lookup over a slow link, short enough to fail a deploy fast.
   * @defaultValue 10_000
   */
  connectTimeoutMs: 10_000,
  /**
   * Every command on a request path settles within this, even while Redis is down.
   * @defaultValue 10_000
   */
  commandTimeoutMs: 10_000,
  /**
   * Queue and lock keys must not be evicted: say so at `connect()` unless told the Redis is a cache.
   * @defaultValue true
   */
  warnOnEviction: true,
  /**
   * `CLIENT SETNAME` prefix, so the SDK's connections are easy to find in `CLIENT LIST`.
   * @defaultValue 'lota'
   */
  connectionName: 'lota',
});

export type { OptionIssue, OptionsResult };

/** The default logger: warnings and errors to stderr, tagged `[lota]`. */
export const stderrLogger: Logger = createStderrLogger('lota');

const pem = z.union([z.string(), z.instanceof(Buffer)]);
const ms = (what: string, min: number) =>
  z.number({ error: `must be a number of milliseconds (${what})` }).int('must be a whole number of milliseconds').min(min, `must be >= ${min}`);

export const redisConfigSchema = z.strictObject({
  url: z.string().min(1, 'must not be empty').optional(),
  cluster: z.strictObject({ nodes: z.array(z.string().min(1)).min(1, 'must list at least one node') }).optional(),
  sentinel: z
    .strictObject({
      sentinels: z.array(z.string().min(1)).min(1, 'must list at least one sentinel'),
      name: z.string().min(1, 'must name the monitored primary'),
      username: z.string().optional(),
      password: z.string().optional(),
      tls: z.boolean().optional(),
    })
    .optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  db: z.number().int('must be an integer').min(0).max(15_999).optional(),
  tls: z
    .strictObject({
      ca: z.union([pem, z.array(pem)]).optional(),
      cert: pem.optional(),
      key: pem.optional(),
      servername: z.string().optional(),
      rejectUnauthorized: z.boolean().optional(),
    })
    .optional(),
  keyPrefix: z
    .string()
    .regex(KEY_PREFIX, KEY_PREFIX_RULE)
    .optional(),
  healthCheckIntervalMs: ms('0 turns health checks off', 0).optional(),
  healthCheckTimeoutMs: ms('per PING', 1).optional(),
  healthCheckBlockingGraceMs: ms('extra for blocking connections', 0).optional(),
  connectTimeoutMs: ms('connect bound', 1).optional(),
  commandTimeoutMs: ms('per command', 1).optional(),
  warnOnEviction: z.boolean().optional(),
  connectionName: z.string().regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  logger: z.custom<Logger>(isLogger, NOT_A_LOGGER).optional(),
});

/** Values made by {@link resolveRedisOptions}: the manager takes them as they are, without a second parse. */
const resolvedConfigs = new ResolvedMarks<ResolvedRedisConfig>();

/** Whether `value` came out of {@link resolveRedisOptions} (a look-alike object does not count). */
export function isResolvedRedisConfig(value: unknown): value is ResolvedRedisConfig {
  return resolvedConfigs.has(value);
}

/**
 * Validates `input` and applies {@link DEFAULTS}: the resolved config (frozen; pass it to
 * `createRedisConnectionManager` as it is), or every problem by dot path under `path` (e.g.
 * `'redis'` when the section is nested in a runtime config). Never throws for bad input.
 */
export function resolveRedisOptions(input: unknown, path = ''): OptionsResult<ResolvedRedisConfig> {
  const parsed = redisConfigSchema.safeParse(input ?? {});
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error, path) };
  const cfg: RedisConfig = parsed.data;
  const { target, issues } = parseTarget(cfg, path);
  const interval = cfg.healthCheckIntervalMs ?? DEFAULTS.healthCheckIntervalMs;
  const timeout = cfg.healthCheckTimeoutMs ?? DEFAULTS.healthCheckTimeoutMs;
  if (interval > 0 && timeout >= interval && cfg.healthCheckTimeoutMs !== undefined) {
    issues.push({
      path: joinPath(path, 'healthCheckTimeoutMs'),
      message: `must be shorter than healthCheckIntervalMs (${interval})`,
    });
  }
  if (issues.length > 0 || !target) return { ok: false, issues };
  const value: ResolvedRedisConfig = Object.freeze({
    target,
    keyPrefix: cfg.keyPrefix ?? DEFAULTS.keyPrefix,
    healthCheckIntervalMs: interval,
    healthCheckTimeoutMs: Math.min(timeout, interval > 0 ? interval - 1 : timeout),
    healthCheckBlockingGraceMs: cfg.healthCheckBlockingGraceMs ?? DEFAULTS.healthCheckBlockingGraceMs,
    connectTimeoutMs: cfg.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    commandTimeoutMs: cfg.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
    warnOnEviction: cfg.warnOnEviction ?? DEFAULTS.warnOnEviction,
    connectionName: cfg.connectionName ?? DEFAULTS.connectionName,
    logger: cfg.logger ?? stderrLogger,
  });
  return { ok: true, value: resolvedConfigs.mark(value) };
}

/**
 * {@link resolveRedisOptions}, throwing: the resolved config, or a {@link ConfigError} listing
 * every problem by dot path (prefixed with `pathPrefix`).
 */
export function resolveRedisConfig(input: unknown, pathPrefix = ''): ResolvedRedisConfig {
  const result = resolveRedisOptions(input, pathPrefix);
  if (!result.ok) throw new ConfigError('@lota/redis-connection', result.issues);
  return result.value;
}
