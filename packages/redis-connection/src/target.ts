import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { DEFAULTS, type RedisConfig } from './options.js';
import { joinPath, type OptionIssue } from '@lota/shared';

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

type Issue = OptionIssue;

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

/**
 * Schemes a message may name. Anything else is not printed: in `app:secret@host` (no `//`) the
 * "scheme" is the user name, and a password pasted into `url` could parse as one.
 */
const KNOWN_SCHEMES = new Set(['redis:', 'rediss:', 'valkey:', 'valkeys:', 'http:', 'https:', 'tcp:', 'tls:', 'unix:']);

/** How to write a password that contains URL delimiters. */
const ENCODE_HINT = 'if the password contains @ : / ? # % or spaces, percent-encode it (encodeURIComponent) or give it in the password option';

/**
 * What a message may show of a URL that failed validation: the scheme, host and port the URL
 * parser found, and only when they cannot be a piece of the credentials. An `@` after the
 * authority means the parser cut the credentials short (at a `/`, `?` or `#` in the password), so
 * its "host" and "port" are really parts of the password: nothing is shown then. Raw text of
 * the input is never shown.
 */
function certainParts(url: URL): { scheme: string; host: string; port: string } | undefined {
  const rest = `${url.pathname}${url.search}${url.hash}`;
  if (!KNOWN_SCHEMES.has(url.protocol) || !url.host || rest.includes('@') || /%40/i.test(rest)) return undefined;
  return { scheme: url.protocol.slice(0, -1), host: url.hostname, port: url.port || String(DEFAULT_PORT) };
}

/**
 * Parses `redis://` / `rediss://` URLs. On failure returns a message that says what is wrong and
 * shows at most the parsed scheme, host and port, never the text (it may hold a password).
 */
export function parseRedisUrl(raw: string, opts: { allowDb: boolean }): ParsedUrl | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return (
      'is not a valid URL (it is not shown: it may contain a password); expected redis://[user:password@]host[:port][/db] or rediss://..., ' +
      `with a port from 1 to 65535; ${ENCODE_HINT}`
    );
  }
  const certain = certainParts(url);
  const parsed = certain ? ` (parsed host ${certain.host}, port ${certain.port})` : '';
  const credentialsCutShort = /@|%40/i.test(`${url.pathname}${url.search}${url.hash}`);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `must start with redis:// or rediss://${certain ? ` (got ${certain.scheme}:// for host ${certain.host}, port ${certain.port})` : ''}`;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return `has no host; expected redis://[user:password@]host[:port][/db]`;
  if (credentialsCutShort) return `has an @ after the host, so part of the password was read as host, port or path; ${ENCODE_HINT}`;
  const port = url.port === '' ? DEFAULT_PORT : parsePort(url.port);
  if (port === undefined) return `has an invalid port; use 1 to 65535${parsed}`;
  if (url.search || url.hash) {
    return `must not have query parameters or a fragment (they are not shown); give the password, TLS and db in the config options instead${parsed}`;
  }
  let db: number | undefined;
  const path = url.pathname.replace(/^\/+/, '');
  if (path !== '') {
    if (!/^\d+$/.test(path)) return `has an invalid database index in its path; use /0, /1, ...${parsed}`;
    if (!opts.allowDb && Number(path) !== 0) return `cannot select a database on Redis Cluster; remove the /db from the node URL${parsed}`;
    db = Number(path);
  }
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = url.username === '' ? undefined : decodeURIComponent(url.username);
    password = url.password === '' ? undefined : decodeURIComponent(url.password);
  } catch {
    return `has a malformed percent-encoding (a % not followed by two hex digits) in its user or password; ${ENCODE_HINT}`;
  }
  return { host, port, tls: url.protocol === 'rediss:', username, password, db };
}

/** A host name or IPv4 address as written in `host:port` (docker-style `redis_1` included). */
const PLAIN_HOST = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
/** The inside of `[...]`: an IPv6 address, optionally with a zone. */
const IPV6_HOST = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/** Parses `host:port`, `[v6]:port` or a redis URL. Messages never show the text. */
function parseNode(raw: string): ParsedUrl | string {
  if (raw.includes('://')) return parseRedisUrl(raw, { allowDb: false });
  if (raw.includes('@')) {
    return 'has credentials but no scheme (it is not shown: it may contain a password); write redis://user:password@host:port (percent-encode special characters) or use the username and password options';
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  const host = m?.[1] ?? m?.[2];
  const hostOk = m?.[1] !== undefined ? IPV6_HOST.test(m[1]) : host !== undefined && PLAIN_HOST.test(host);
  const port = m?.[3] === undefined ? undefined : parsePort(m[3]);
  if (host === undefined || !hostOk || port === undefined) {
    return 'must be host:port (port 1 to 65535), [ipv6]:port or a redis:// URL (it is not shown: it may contain a password)';
  }
  return { host, port, tls: false, username: undefined, password: undefined, db: undefined };
}

/** How a target is shown: scheme, host(s), port(s) and db; credentials only as `***`, never a user name. */
function describe(scheme: string, user: string | undefined, password: string | undefined, hosts: string, db?: number): string {
  const auth = user !== undefined || password !== undefined ? '***@' : '';
  return `${scheme}://${auth}${hosts}${db ? `/${db}` : ''}`;
}

/** Normalises the connection part of the config; collects every problem with its dot path. */
export function parseTarget(cfg: RedisConfig, prefix: string): { target: ConnectionTarget | undefined; issues: Issue[] } {
  const issues: Issue[] = [];
  const at = (...parts: Array<string | number>): string => joinPath(prefix, ...parts);
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
  const base = fromUrl ?? (parseRedisUrl(cfg.url ?? DEFAULTS.url, { allowDb: true }) as ParsedUrl);
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
