import { detectBackend } from './backend.js';
import { findRedisServer } from './binary.js';
import { ContainerRedisServer } from './container-server.js';
import { TestkitCapabilityError, TestkitUnavailableError } from './errors.js';
import { ExternalRedisServer } from './external-server.js';
import { LocalRedisServer, type LocalServerSpec } from './local-server.js';
import type { RedisServer, StartRedisOptions } from './server.js';

/** Config directives every local server gets, plus what `opts` asks for. */
export function serverDirectives(opts: StartRedisOptions): LocalServerSpec['directives'] {
  const d: LocalServerSpec['directives'] = [
    ['save', ''],
    ['appendonly', opts.appendOnly ? 'yes' : 'no'],
    ['maxmemory-policy', opts.maxmemoryPolicy ?? 'noeviction'],
  ];
  if (opts.appendOnly) d.push(['appendfsync', opts.appendFsync ?? 'everysec']);
  if (opts.maxmemory) d.push(['maxmemory', opts.maxmemory]);
  if (opts.password) d.push(['requirepass', opts.password]);
  for (const user of opts.users ?? []) {
    d.push(['user', user.name, 'on', `>${user.password}`, ...(user.rules ?? '~* &* +@all').split(/\s+/)]);
  }
  for (const [key, value] of Object.entries(opts.config ?? {})) d.push([key, ...(Array.isArray(value) ? value : [value])]);
  return d;
}

export function requireBinary(what: string): string {
  const binary = findRedisServer();
  if (!binary) {
    throw new TestkitUnavailableError(
      `redis-testkit: ${what} needs a local redis-server binary (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis; or set REDIS_SERVER_BIN).`,
    );
  }
  return binary;
}

/**
 * Starts a Redis server for one test (or file): its own port, its own temp dir, stopped when
 * disposed or when the process exits. The backend is the local binary when there is one,
 * else a container, else the REDIS_URL server (see {@link detectBackend}).
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const backend = opts.backend ?? (await detectBackend());
  if (backend === 'external') {
    const url = process.env.REDIS_URL;
    if (!url) throw new TestkitUnavailableError('redis-testkit: the external backend needs REDIS_URL.');
    const custom = opts.appendOnly || opts.maxmemory || opts.maxmemoryPolicy || opts.password || opts.users || opts.tls || opts.config;
    if (custom) {
      throw new TestkitCapabilityError(
        'redis-testkit: an external server (REDIS_URL) cannot be configured per test (persistence, maxmemory, auth, TLS); unset REDIS_URL to run this test.',
      );
    }
    return new ExternalRedisServer(url);
  }
  if (backend === 'container') return ContainerRedisServer.start(opts);
  const spec: LocalServerSpec = {
    binary: requireBinary('startRedis'),
    directives: serverDirectives(opts),
    label: 'redis',
  };
  if (opts.tls) spec.tls = true;
  if (opts.password) spec.password = opts.password;
  return LocalRedisServer.start(spec);
}
