import { startCluster, startRedis, startSentinel, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisConnectionManager, RedisUnreachableError, type RedisConnectionManager } from '../src/index.js';

const caps = await testkitCapabilities();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function track(m: RedisConnectionManager): RedisConnectionManager {
  cleanups.push(() => m.disconnect({ timeoutMs: 500 }));
  return m;
}

describe.skipIf(!caps.topologies)('TLS, ACL, Cluster, Sentinel', () => {
  it('rediss:// with a private CA; the wrong CA is REDIS_UNREACHABLE naming the certificate problem', async () => {
    const server = await startRedis({ tls: true });
    cleanups.push(() => server.dispose());
    const m = track(createRedisConnectionManager({ url: server.url, tls: { ca: server.tls!.ca }, logger: recordingLogger() }));
    await m.connect();
    expect(await (m.getConnection() as Redis).set('k', 'tls')).toBe('OK');
    expect(await (m.getConnectionForBullMQ() as Redis).get('k')).toBe('tls');
    const untrusted = createRedisConnectionManager({ url: server.url, connectTimeoutMs: 2_000, logger: recordingLogger() });
    const err = (await untrusted.connect().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect(err.message).toMatch(/certificate/i);
  });

  it('ACL user and password from the URL; a user without rights is refused on its commands', async () => {
    const server = await startRedis({ users: [{ name: 'lota-app', password: 's3cret', rules: '~lota:* &* +@all' }] });
    cleanups.push(() => server.dispose());
    const logger = recordingLogger();
    const m = track(createRedisConnectionManager({ url: `redis://lota-app:s3cret@127.0.0.1:${server.port}/0`, logger }));
    await m.connect();
    const c = m.getConnection() as Redis;
    expect(await c.set('lota:x', '1')).toBe('OK');
    await expect(c.set('other:x', '1')).rejects.toThrow(/NOPERM/);
    expect(await c.acl('WHOAMI')).toBe('lota-app');
    expect(logger.text()).not.toContain('s3cret');
    expect(m.target).toBe(`redis://***@127.0.0.1:${server.port}`); // user and password both masked
  });

  it('Redis Cluster (3 masters): both clients are ioredis Clusters, health pings every node, disconnect closes all', async () => {
    const cluster = await startCluster({ masters: 3 });
    cleanups.push(() => cluster.dispose());
    const m = track(createRedisConnectionManager({ cluster: { nodes: cluster.startupNodes }, logger: recordingLogger(), healthCheckIntervalMs: 100, healthCheckTimeoutMs: 50 }));
    await m.connect();
    const general = m.getConnection() as Cluster;
    const bull = m.getConnectionForBullMQ() as Cluster;
    expect(general.isCluster).toBe(true);
    expect(bull.isCluster).toBe(true);
    for (let i = 0; i < 30; i++) await general.set(`k{${i}}`, String(i));
    expect(await bull.get('k{7}')).toBe('7');
    const health: boolean[] = [];
    m.on('health', (h) => health.push(h.ok));
    await waitFor(() => health.length >= 4, { description: 'cluster health checks' });
    expect(health.every(Boolean)).toBe(true);
    const h = await m.health();
    expect(h.status).toBe('ready');
    expect(h.evictionPolicy).toBe('noeviction');
    await m.disconnect();
    expect(general.status).toBe('end');
    expect(bull.status).toBe('end');
  });

  it('Sentinel: connects to the primary the sentinels name, and follows a failover', async () => {
    const topo = await startSentinel({ replicas: 2, sentinels: 3, downAfterMs: 500, failoverTimeoutMs: 2_000 });
    cleanups.push(() => topo.dispose());
    const slog = recordingLogger();
    const m = track(
      createRedisConnectionManager({ sentinel: { sentinels: topo.sentinelAddresses, name: topo.name }, logger: slog, commandTimeoutMs: 2_000 }),
    );
    await m.connect();
    const general = m.getConnection() as Redis;
    expect(await general.set('before', '1')).toBe('OK');
    const primary = await topo.primary();
    expect(general.options.port === primary.port || (await general.info('server')).includes(`tcp_port:${primary.port}`)).toBe(true);
    await primary.kill();
    const next = await topo.waitForFailover(primary.port);
    const errors: string[] = [];
    await waitFor(
      async () => (await general.set("after", "2").catch((e: unknown) => void errors.push(`${(e as Error).message} (status ${general.status})`))) === 'OK',
      { timeoutMs: 20_000, description: 'writes on the new primary' },
    ).catch((e: unknown) => {
      // Diagnostics if a failover is ever not followed: what the client saw, and what it logged.
      console.log(errors.slice(-10).join('\n'), '\n', slog.text().split('\n').slice(-30).join('\n'));
      throw e;
    });
    expect(await (m.getConnectionForBullMQ() as Redis).get('after')).toBe('2');
    expect((await general.info('server')).includes(`tcp_port:${next.port}`)).toBe(true);
  });
});
