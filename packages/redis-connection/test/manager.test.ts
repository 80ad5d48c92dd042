import { setTimeout as sleep } from 'node:timers/promises';
import { clientNames, startRedis, testkitCapabilities, waitFor, withAdmin, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisConnectionManager,
  NotConnectedError,
  RedisUnreachableError,
  type RedisConfig,
  type RedisConnectionManager,
} from '../src/index.js';

const caps = await testkitCapabilities();
let server: RedisServer;
const managers: RedisConnectionManager[] = [];

function manager(config: RedisConfig = {}): RedisConnectionManager {
  const m = createRedisConnectionManager({ url: server.url, logger: recordingLogger(), ...config });
  managers.push(m);
  return m;
}

async function lotaClients(): Promise<string[]> {
  const list = await withAdmin(server, (c) => c.client('LIST') as Promise<string>);
  return clientNames(list).filter((n) => n.startsWith('lota'));
}

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect({ timeoutMs: 500 })));
});
afterAll(async () => {
  await server.dispose();
});

describe('lifecycle', () => {
  it('getters before connect() and after disconnect() throw NOT_CONNECTED saying what to call', async () => {
    const m = manager();
    expect(() => m.getConnection()).toThrow(NotConnectedError);
    expect(() => m.getConnectionForBullMQ()).toThrow(/call `await manager.connect\(\)` first/);
    try {
      m.getConnection();
    } catch (err) {
      expect((err as NotConnectedError).code).toBe('NOT_CONNECTED');
    }
    await m.connect();
    m.getConnection();
    await m.disconnect();
    expect(() => m.getConnection()).toThrow(/after disconnect\(\).*createRedisConnectionManager/);
    await expect(m.connect()).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('connect() makes two independent shared clients: general (finite retries) and BullMQ (maxRetriesPerRequest: null)', async () => {
    const m = manager();
    const [a, b] = [m.connect(), m.connect()];
    expect(a).toBe(b);
    await a;
    const general = m.getConnection() as Redis;
    const bull = m.getConnectionForBullMQ() as Redis;
    expect(general).not.toBe(bull);
    expect(m.getConnection()).toBe(general);
    expect(m.getConnectionForBullMQ()).toBe(bull);
    expect(general.options.maxRetriesPerRequest).toBe(20);
    expect(general.options.commandTimeout).toBe(10_000);
    expect(bull.options.maxRetriesPerRequest).toBeNull();
    expect(bull.options.commandTimeout).toBeUndefined();
    expect(bull.options.keyPrefix ?? '').toBe('');
    expect((await lotaClients()).sort()).toEqual(['lota:bullmq', 'lota:general']);
    expect(m.keyPrefix).toBe('lota');
  });

  it('health() reports status, latency, eviction policy and the client count', async () => {
    const m = manager();
    expect((await m.health()).status).toBe('idle');
    await m.connect();
    const h = await m.health();
    expect(h.status).toBe('ready');
    expect(h.latencyMs).toBeGreaterThan(0);
    expect(h.latencyMs).toBeLessThan(1_000);
    expect(h.evictionPolicy).toBe('noeviction');
    expect(h.connections).toBe(2);
    expect(h.clients.map((c) => c.role).sort()).toEqual(['bullmq', 'general']);
    await m.disconnect();
    expect((await m.health()).status).toBe('closed');
  });

  it('duplicates of its clients (what BullMQ workers use) are owned: counted, health-checked and closed', async () => {
    const m = manager();
    await m.connect();
    const dup = (m.getConnectionForBullMQ() as Redis).duplicate({ connectionName: 'lota:worker-blocking' });
    await dup.ping();
    expect((await m.health()).connections).toBe(3);
    expect((await m.health()).clients.map((c) => c.role)).toContain('bullmq-duplicate');
    expect(await lotaClients()).toContain('lota:worker-blocking');
    await m.disconnect();
    expect(dup.status).toBe('end');
    await waitFor(async () => (await lotaClients()).length === 0, { description: 'CLIENT LIST back to baseline' });
  });

  it('a duplicate its owner closes leaves the pool', async () => {
    const m = manager();
    await m.connect();
    const dup = (m.getConnectionForBullMQ() as Redis).duplicate();
    await dup.ping();
    await dup.quit();
    await waitFor(async () => (await m.health()).connections === 2, { description: 'the closed duplicate to leave the pool' });
  });

  it('disconnect() returns CLIENT LIST to its baseline and is idempotent', async () => {
    const baseline = await lotaClients();
    const m = manager();
    await m.connect();
    expect((await lotaClients()).length).toBe(baseline.length + 2);
    await m.disconnect();
    await m.disconnect();
    await Promise.all([m.disconnect(), m.disconnect()]);
    await waitFor(async () => (await lotaClients()).length === baseline.length, { description: 'CLIENT LIST back to baseline' });
    expect(m.state).toBe('closed');
  });
});

describe('unreachable and misconfigured servers', () => {
  it('connect() to a closed port rejects with REDIS_UNREACHABLE within connectTimeoutMs and leaves nothing running', async () => {
    const m = createRedisConnectionManager({ url: 'redis://:topsecret@127.0.0.1:1', connectTimeoutMs: 800, logger: recordingLogger() });
    const started = Date.now();
    const err = await m.connect().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(800 + 300);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect((err as RedisUnreachableError).code).toBe('REDIS_UNREACHABLE');
    expect((err as Error).message).toMatch(/cannot connect to redis:\/\/\*\*\*@127\.0\.0\.1:1 /);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as Error).message).not.toContain('topsecret');
    expect(m.state).toBe('idle');
    expect((await m.health()).connections).toBe(0);
  });

  it.skipIf(!caps.topologies)('a wrong password is REDIS_UNREACHABLE naming the cause, never the password', async () => {
    await using secured = await startRedis({ password: 'right-one' });
    const logger = recordingLogger();
    const m = createRedisConnectionManager({ url: `redis://:wrong-one@127.0.0.1:${secured.port}`, connectTimeoutMs: 2_000, logger });
    const err = (await m.connect().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect(err.message).toMatch(/WRONGPASS|invalid password|NOAUTH/i);
    expect(err.message).not.toContain('wrong-one');
    expect(logger.text()).not.toContain('wrong-one');
    expect(logger.text()).not.toContain('right-one');
  });

  it.skipIf(!caps.control)('a paused server makes connect() reject at connectTimeoutMs instead of hanging', async () => {
    await using paused = await startRedis();
    await paused.pause();
    const m = createRedisConnectionManager({ url: paused.url, connectTimeoutMs: 500, logger: recordingLogger() });
    const started = Date.now();
    await expect(m.connect()).rejects.toBeInstanceOf(RedisUnreachableError);
    expect(Date.now() - started).toBeLessThan(1_000);
    await paused.resume();
  });
});

describe.skipIf(!caps.control)('eviction policy', () => {
  it('warns, naming the risk, when the queue Redis may evict keys', async () => {
    await using lru = await startRedis({ maxmemoryPolicy: 'allkeys-lru', maxmemory: '64mb' });
    const logger = recordingLogger();
    const m = createRedisConnectionManager({ url: lru.url, logger });
    managers.push(m);
    await m.connect();
    const warning = logger.lines.find((l) => l.level === 'warn' && /maxmemory-policy/.test(l.message));
    expect(warning?.message).toMatch(/'allkeys-lru', not 'noeviction'.*evict BullMQ job keys and lock keys/);
    expect((await m.health()).evictionPolicy).toBe('allkeys-lru');
  });

  it('stays quiet on noeviction, and when told the Redis is cache-only', async () => {
    await using lru = await startRedis({ maxmemoryPolicy: 'allkeys-lru', maxmemory: '64mb' });
    const quiet = recordingLogger();
    const m = createRedisConnectionManager({ url: lru.url, logger: quiet, warnOnEviction: false });
    managers.push(m);
    await m.connect();
    const m2 = manager({ logger: quiet });
    await m2.connect();
    expect(quiet.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('tolerates servers where CONFIG is disabled', async () => {
    await using locked = await startRedis({ config: { 'rename-command': ['CONFIG', ''] } });
    const m = createRedisConnectionManager({ url: locked.url, logger: recordingLogger() });
    managers.push(m);
    await m.connect();
    const h = await m.health();
    expect(h.status).toBe('ready');
    expect(h.evictionPolicy).toBeNull();
  });
});

describe.skipIf(!caps.control)('bounded disconnect', () => {
  it('resolves within its bound when the server was killed', async () => {
    await using victim = await startRedis();
    const m = createRedisConnectionManager({ url: victim.url, logger: recordingLogger() });
    await m.connect();
    const dup = (m.getConnectionForBullMQ() as Redis).duplicate();
    await dup.ping();
    await victim.kill();
    const started = Date.now();
    await m.disconnect({ timeoutMs: 1_000 });
    expect(Date.now() - started).toBeLessThan(1_300);
    // Reconnection stopped for good: a server coming back sees none of our clients.
    await victim.restart();
    await waitFor(async () => (await withAdmin(victim, (c) => c.client('LIST') as Promise<string>)).length > 0);
    // A negative claim needs a window: ioredis' backoff is at most 2 s, so 2.5 s covers a retry.
    await sleep(2_500);
    const names = clientNames(await withAdmin(victim, (c) => c.client('LIST') as Promise<string>));
    expect(names.filter((n) => n.startsWith('lota'))).toEqual([]);
    expect(dup.status).not.toBe('ready');
  });

  it('resolves within its bound when the server is paused (QUIT never answered)', async () => {
    await using victim = await startRedis();
    const m = createRedisConnectionManager({ url: victim.url, logger: recordingLogger() });
    await m.connect();
    await victim.pause();
    const started = Date.now();
    await m.disconnect({ timeoutMs: 700 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(800);
    await victim.resume();
    await sleep(0);
  });
});
