import { describe, expect, it } from 'vitest';
import { ConfigError, createRedisConnectionManager, LotaError, redactUrl, resolveRedisConfig } from '../src/index.js';

function configError(input: unknown): ConfigError {
  try {
    resolveRedisConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies the documented defaults', () => {
    const cfg = resolveRedisConfig({});
    expect(cfg.target).toMatchObject({ kind: 'standalone', host: 'localhost', port: 6379, db: 0 });
    expect(cfg).toMatchObject({
      keyPrefix: 'lota',
      healthCheckIntervalMs: 30_000,
      healthCheckTimeoutMs: 5_000,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 10_000,
      warnOnEviction: true,
    });
  });

  it('parses user, password, db, TLS and IPv6 from URLs', () => {
    const a = resolveRedisConfig({ url: 'redis://alice:p%40ss@cache.internal:6380/3' }).target;
    expect(a).toMatchObject({ kind: 'standalone', host: 'cache.internal', port: 6380, username: 'alice', password: 'p@ss', db: 3, tls: undefined });
    expect(a.display).toBe('redis://***@cache.internal:6380/3'); // neither user nor password is shown
    const b = resolveRedisConfig({ url: 'rediss://:secret@[::1]' }).target;
    expect(b).toMatchObject({ host: '::1', port: 6379, password: 'secret', tls: {} });
    expect(b.display).toBe('rediss://***@[::1]:6379');
    const c = resolveRedisConfig({ url: 'redis://h:1', password: 'override', tls: { rejectUnauthorized: false } }).target;
    expect(c).toMatchObject({ password: 'override', tls: { rejectUnauthorized: false } });
  });

  it('parses cluster nodes and sentinel configs', () => {
    const cl = resolveRedisConfig({ cluster: { nodes: ['10.0.0.1:7000', 'redis://u:pw@10.0.0.2:7001'] } }).target;
    expect(cl).toMatchObject({ kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }], username: 'u', password: 'pw' });
    expect(cl.display).not.toContain('pw');
    const se = resolveRedisConfig({ url: 'redis://:pw@ignored/2', sentinel: { sentinels: ['s1:26379', 's2:26379'], name: 'main' } }).target;
    expect(se).toMatchObject({ kind: 'sentinel', name: 'main', db: 2, password: 'pw', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }] });
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['wrong scheme', { url: 'http://localhost:6379' }, 'url', /redis:\/\/ or rediss:\/\//],
    ['not a URL', { url: 'localhost:6379' }, 'url', /redis:\/\/ or rediss:\/\//],
    ['garbage', { url: '::::' }, 'url', /not a valid URL/],
    ['bad port', { url: 'redis://h:99999' }, 'url', /not a valid URL|invalid port/],
    ['bad db', { url: 'redis://h:1/cache' }, 'url', /invalid database index/],
    ['query', { url: 'redis://h:1/0?tls=true' }, 'url', /query parameters/],
    ['unknown option', { url: 'redis://h', hots: 'x' }, 'hots', /unknown option/],
    ['nested unknown', { cluster: { nodes: ['h:1'], replicas: 1 } }, 'cluster.replicas', /unknown option/],
    ['wrong type', { healthCheckIntervalMs: '30s' }, 'healthCheckIntervalMs', /milliseconds/],
    ['negative', { connectTimeoutMs: -1 }, 'connectTimeoutMs', />= 1/],
    ['fraction', { commandTimeoutMs: 1.5 }, 'commandTimeoutMs', /whole number/],
    ['bad node', { cluster: { nodes: ['h:1', 'nohost'] } }, 'cluster.nodes.1', /host:port/],
    ['both modes', { cluster: { nodes: ['h:1'] }, sentinel: { sentinels: ['s:1'], name: 'm' } }, 'cluster', /either cluster or sentinel/],
    ['cluster + url', { url: 'redis://h', cluster: { nodes: ['h:1'] } }, 'url', /either url or cluster/],
    ['cluster db', { cluster: { nodes: ['h:1'] }, db: 2 }, 'db', /only database 0/],
    ['sentinel name', { sentinel: { sentinels: ['s:1'], name: '' } }, 'sentinel.name', /name the monitored primary/],
    ['prefix braces', { keyPrefix: '{lota}' }, 'keyPrefix', /braces/],
    ['logger', { logger: { info() {} } }, 'logger', /debug, info, warn and error/],
    ['timeout >= interval', { healthCheckIntervalMs: 1000, healthCheckTimeoutMs: 1000 }, 'healthCheckTimeoutMs', /shorter than healthCheckIntervalMs/],
  ];
  for (const [what, input, path, message] of bad) {
    it(`rejects ${what} with CONFIG_INVALID naming '${path}'`, () => {
      const err = configError(input);
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err).toBeInstanceOf(LotaError);
      expect(err.name).toBe('ConfigError');
      const issue = err.issues.find((i) => i.path === path);
      expect(issue, err.message).toBeDefined();
      expect(issue!.message).toMatch(message);
      expect(err.message).toContain('@lota/redis-connection');
      expect(err.message).toContain(path);
    });
  }

  it('never echoes a password, even from a malformed URL', () => {
    const secrets = ['hunter2', 's3cr3t!', 'pw-in-node'];
    const inputs = [
      { url: 'http://user:hunter2@host:6379' },
      { url: 'redis://user:s3cr3t!@host:notaport' },
      { cluster: { nodes: ['redis://u:pw-in-node@h:bad'] } },
    ];
    for (const input of inputs) {
      const err = configError(input);
      for (const s of secrets) expect(err.message).not.toContain(s);
    }
  });

  it('createRedisConnectionManager validates eagerly (before any connection)', () => {
    expect(() => createRedisConnectionManager({ url: 'ftp://x' })).toThrow(ConfigError);
    expect(() => createRedisConnectionManager('redis://x' as never)).toThrow(/expected object/);
  });

  it('redactUrl masks passwords anywhere in a text', () => {
    expect(redactUrl('failed redis://a:b@h:1')).toBe('failed redis://***@h:1');
    expect(redactUrl('redis://h:1/0?password=pw&x=1')).toBe('redis://h:1/0?password=***&x=1');
  });
});
