import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { RedisConfig } from './config.js';
import { redactUrl } from './redact.js';

export interface HostPort {
  host: string;
  port: number;
}

interface Auth {
  username: string | undefined;
  password: string | undefined;
  tls: TlsConnectionOptions | undefined;
}

/** Where to connect, normalised from the config. `display` is safe to log (no password). */
export type ConnectionTarget =
  | ({ kind: 'standalone'; display: string; db: number } & HostPort & Auth)
  | ({ kind: 'cluster'; display: string; nodes: HostPort[] } & Auth)
  | ({
      kind: 'sentinel';
      display: string;
      db: number;
      name: string;
      sentinels: HostPort[];
      sentinelUsername: string | undefined;
      sentinelPassword: string | undefined;
      sentinelTls: boolean;
    } & Auth);

type Issue = { path: string; message: string };

interface ParsedUrl extends HostPort {
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  db: number | undefined;
}

const DEFAULT_PORT = 6379;

function parsePort(raw: string): number | undefined {
  if (!/^\d{1,5}$/.test(raw)) return undefined;
  const port = Number(raw);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/** Parses `redis://` / `rediss://` URLs. Returns an error message (without the password) on failure. */
export function parseRedisUrl(raw: string, opts: { allowDb: boolean }): ParsedUrl | string {
  const shown = JSON.stringify(redactUrl(raw));
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `is not a valid URL (got ${shown}); expected redis://[user:password@]host[:port][/db] or rediss://...`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `must start with redis:// or rediss:// (got ${shown})`;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return `has no host (got ${shown})`;
  const port = url.port === '' ? DEFAULT_PORT : parsePort(url.port);
  if (port === undefined) return `has an invalid port (got ${shown})`;
  if (url.search || url.hash) return `must not have query parameters or a fragment; use the config options instead (got ${shown})`;
  let db: number | undefined;
  const path = url.pathname.replace(/^\/+/, '');
  if (path !== '') {
    if (!/^\d+$/.test(path)) return `has an invalid database index '${path}'; use /0 to /15 (got ${shown})`;
    if (!opts.allowDb && Number(path) !== 0) return `cannot select a database on Redis Cluster (got ${shown})`;
    db = Number(path);
  }
  const decode = (s: string): string | undefined => (s === '' ? undefined : decodeURIComponent(s));
  return { host, port, tls: url.protocol === 'rediss:', username: decode(url.username), password: decode(url.password), db };
}

/** Parses `host:port`, `[v6]:port` or a redis URL. */
function parseNode(raw: string): ParsedUrl | string {
  if (raw.includes('://')) return parseRedisUrl(raw, { allowDb: false });
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(raw);
  const host = m?.[1] ?? m?.[2];
  const port = m?.[3] === undefined ? undefined : parsePort(m[3]);
  if (host === undefined || port === undefined) return `must be host:port or a redis:// URL (got ${JSON.stringify(redactUrl(raw))})`;
  return { host, port, tls: false, username: undefined, password: undefined, db: undefined };
}

function describe(scheme: string, user: string | undefined, password: string | undefined, hosts: string, db?: number): string {
  const auth = user || password ? `${user ?? ''}${password ? ':***' : ''}@` : '';
  return `${scheme}://${auth}${hosts}${db ? `/${db}` : ''}`;
}

/** Normalises the connection part of the config; collects every problem with its dot path. */
export function parseTarget(cfg: RedisConfig, prefix: string): { target: ConnectionTarget | undefined; issues: Issue[] } {
  const issues: Issue[] = [];
  const at = (...parts: Array<string | number>): string => [prefix, ...parts.map(String)].filter(Boolean).join('.');
  const modes = [cfg.cluster && 'cluster', cfg.sentinel && 'sentinel'].filter(Boolean);
  if (modes.length > 1) {
    issues.push({ path: at('cluster'), message: 'give either cluster or sentinel, not both' });
    return { target: undefined, issues };
  }
  if (cfg.cluster && cfg.url) {
    issues.push({ path: at('url'), message: 'give either url or cluster.nodes; put credentials in the node URLs or in username/password' });
    return { target: undefined, issues };
  }

  const url = cfg.url === undefined ? undefined : parseRedisUrl(cfg.url, { allowDb: true });
  if (typeof url === 'string') issues.push({ path: at('url'), message: url });
  const fromUrl = typeof url === 'object' ? url : undefined;

  const tlsWanted = Boolean(cfg.tls) || Boolean(fromUrl?.tls);
  const tls: TlsConnectionOptions | undefined = tlsWanted ? { ...(cfg.tls ?? {}) } : undefined;
  let username = cfg.username ?? fromUrl?.username;
  let password = cfg.password ?? fromUrl?.password;
  const db = cfg.db ?? fromUrl?.db ?? 0;

  if (cfg.cluster) {
    const nodes: HostPort[] = [];
    let clusterTls = tlsWanted;
    cfg.cluster.nodes.forEach((raw, i) => {
      const node = parseNode(raw);
      if (typeof node === 'string') {
        issues.push({ path: at('cluster', 'nodes', i), message: node });
        return;
      }
      if (node.username !== undefined || node.password !== undefined) {
        if ((username !== undefined && node.username !== username) || (password !== undefined && node.password !== password)) {
          issues.push({ path: at('cluster', 'nodes', i), message: 'has different credentials than the other nodes; every node of a cluster uses the same ones' });
        }
        username ??= node.username;
        password ??= node.password;
      }
      clusterTls ||= node.tls;
      nodes.push({ host: node.host, port: node.port });
    });
    if (cfg.db) issues.push({ path: at('db'), message: 'Redis Cluster has only database 0; remove db' });
    if (issues.length) return { target: undefined, issues };
    const display = describe(clusterTls ? 'rediss' : 'redis', username, password, nodes.map((n) => `${n.host}:${n.port}`).join(','));
    return {
      target: { kind: 'cluster', display: `cluster ${display}`, nodes, username, password, tls: clusterTls ? (tls ?? {}) : undefined },
      issues,
    };
  }

  if (cfg.sentinel) {
    const sentinels: HostPort[] = [];
    cfg.sentinel.sentinels.forEach((raw, i) => {
      const node = parseNode(raw);
      if (typeof node === 'string') issues.push({ path: at('sentinel', 'sentinels', i), message: node });
      else sentinels.push({ host: node.host, port: node.port });
    });
    if (issues.length) return { target: undefined, issues };
    const name = cfg.sentinel.name;
    const display = `sentinel '${name}' via ${sentinels.map((s) => `${s.host}:${s.port}`).join(',')} (${describe(tlsWanted ? 'rediss' : 'redis', username, password, name, db)})`;
    return {
      target: {
        kind: 'sentinel', display, db, name, sentinels, username, password, tls,
        sentinelUsername: cfg.sentinel.username, sentinelPassword: cfg.sentinel.password, sentinelTls: cfg.sentinel.tls ?? false,
      },
      issues,
    };
  }

  if (issues.length) return { target: undefined, issues };
  const base = fromUrl ?? (parseRedisUrl(cfg.url ?? 'redis://localhost:6379', { allowDb: true }) as ParsedUrl);
  const hostShown = base.host.includes(':') ? `[${base.host}]` : base.host;
  return {
    target: {
      kind: 'standalone',
      display: describe(tlsWanted ? 'rediss' : 'redis', username, password, `${hostShown}:${base.port}`, db),
      host: base.host, port: base.port, db, username, password, tls,
    },
    issues,
  };
}
