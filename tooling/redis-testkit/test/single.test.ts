import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { probeRedis, startRedis, testkitCapabilities, withAdmin, type RedisServer } from '../src/index.js';

const caps = await testkitCapabilities();
const servers: RedisServer[] = [];
const clients: Redis[] = [];

async function server(opts: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
  const s = await startRedis(opts);
  servers.push(s);
  return s;
}

function client(s: RedisServer): Redis {
  const c = new Redis(s.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: true });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

describe.skipIf(!caps.control)('startRedis', () => {
  it('runs a private server on a free loopback port with its own dir', async () => {
    const a = await server();
    const b = await server();
    expect(a.port).not.toBe(b.port);
    expect(a.dir).not.toBe(b.dir);
    expect(a.url).toBe(`redis://127.0.0.1:${a.port}`);
    const ca = client(a);
    await ca.set('k', 'a');
    expect(await client(b).get('k')).toBeNull();
    const config = (await ca.config('GET', 'bind')) as string[];
    expect(config[1]).toBe('127.0.0.1');
  });

  it('kill() loses data without AOF; restart() comes back on the same port', async () => {
    const s = await server();
    await withAdmin(s, (c) => c.set('k', 'v'));
    const oldPid = s.pid;
    await s.kill();
    expect(s.running).toBe(false);
    expect(await probeRedis(s.host, s.port)).toBe('down');
    await s.restart();
    expect(s.pid).not.toBe(oldPid);
    expect(await withAdmin(s, (c) => c.get('k'))).toBeNull();
  });

  it('keeps acknowledged writes across SIGKILL with appendOnly', async () => {
    const s = await server({ appendOnly: true });
    await withAdmin(s, async (c) => {
      for (let i = 0; i < 100; i++) await c.rpush('list', String(i));
    });
    await s.kill();
    await s.restart();
    expect(await withAdmin(s, (c) => c.llen('list'))).toBe(100);
  });

  it('pause() makes the server half-open: TCP connects, nothing answers; resume() answers again', async () => {
    const s = await server();
    const c = client(s);
    await c.connect();
    await s.pause();
    expect(s.paused).toBe(true);
    expect(await probeRedis(s.host, s.port, { timeoutMs: 300 })).toBe('down');
    const pending = c.ping();
    // A negative claim needs a window: nothing may answer for 300 ms.
    const outcome = await Promise.race([pending.then(() => 'answered'), sleep(300).then(() => 'silent')]);
    expect(outcome).toBe('silent');
    await s.resume();
    expect(await pending).toBe('PONG');
  });

  it('applies maxmemory, eviction policy and extra config', async () => {
    const s = await server({ maxmemory: '4mb', maxmemoryPolicy: 'allkeys-lru', config: { 'notify-keyspace-events': 'Kx' } });
    const c = client(s);
    expect(await c.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    expect(await c.config('GET', 'maxmemory')).toEqual(['maxmemory', String(4 * 1024 * 1024)]);
    expect(((await c.config('GET', 'notify-keyspace-events')) as string[])[1]).toContain('x');
  });

  it('stop() is graceful and idempotent; dispose() removes the dir', async () => {
    const s = await server();
    await s.stop();
    await s.stop();
    expect(s.running).toBe(false);
    const { existsSync } = await import('node:fs');
    expect(existsSync(s.dir!)).toBe(true);
    await s.dispose();
    expect(existsSync(s.dir!)).toBe(false);
  });
});

describe.skipIf(!caps.topologies)('auth and TLS', () => {
  it('requirepass: the URL carries the password, a client without it is refused', async () => {
    const s = await server({ password: 'p@ss word' });
    expect(s.url).toContain(encodeURIComponent('p@ss word'));
    const good = client(s);
    expect(await good.ping()).toBe('PONG');
    const bad = new Redis({ host: s.host, port: s.port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const errors: Error[] = [];
    bad.on('error', (e: Error) => errors.push(e));
    clients.push(bad);
    await expect(bad.connect().then(() => bad.ping())).rejects.toThrow();
    expect(errors.map((e) => e.message).join('\n')).toMatch(/NOAUTH|Authentication required/);
  });

  it('ACL users with their own rules', async () => {
    const s = await server({ users: [{ name: 'reader', password: 'r', rules: '~* &* +@read +ping +client +info' }] });
    const reader = new Redis({ host: s.host, port: s.port, username: 'reader', password: 'r', lazyConnect: true, maxRetriesPerRequest: 0 });
    reader.on('error', () => undefined);
    clients.push(reader);
    expect(await reader.get('x')).toBeNull();
    await expect(reader.set('x', '1')).rejects.toThrow(/NOPERM/);
  });

  it('serves TLS only, with a CA generated for the test', async () => {
    const s = await server({ tls: true });
    expect(s.url.startsWith('rediss://')).toBe(true);
    expect(s.tls?.ca).toContain('BEGIN CERTIFICATE');
    const c = new Redis(s.url, { tls: { ca: s.tls!.ca }, lazyConnect: true, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    clients.push(c);
    expect(await c.ping()).toBe('PONG');
    const untrusted = new Redis(s.url, { tls: {}, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const errors: Error[] = [];
    untrusted.on('error', (e: Error) => errors.push(e));
    clients.push(untrusted);
    await expect(untrusted.connect()).rejects.toThrow();
    expect(errors.map((e) => e.message).join('\n')).toMatch(/certificate/i);
  });
});
