import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  getFreePort,
  nextEvent,
  runNodeScript,
  startFaultProxy,
  startRedis,
  testkitCapabilities,
  TestkitCapabilityError,
  waitFor,
  withAdmin,
  type FaultProxy,
  type RedisServer,
} from '../src/index.js';

const caps = await testkitCapabilities();
const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A window in which something must NOT happen (a reply through a partition). */
const SILENCE_MS = 300;

let server: RedisServer;
const proxies: FaultProxy[] = [];
const clients: Redis[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await server.dispose();
});

async function proxyFor(target: Parameters<typeof startFaultProxy>[0] = server, opts?: Parameters<typeof startFaultProxy>[1]): Promise<FaultProxy> {
  const p = await startFaultProxy(target, opts);
  proxies.push(p);
  return p;
}

/** An ioredis client that records its connection events. */
function client(url: string, opts: RedisOptions = {}): Redis & { events: string[]; errors: Array<{ code?: string }> } {
  const c = Object.assign(new Redis(url, { retryStrategy: () => 20, maxRetriesPerRequest: 1, ...opts }), {
    events: [] as string[],
    errors: [] as Array<{ code?: string }>,
  });
  for (const e of ['connect', 'ready', 'close', 'end', 'reconnecting']) c.on(e, () => c.events.push(e));
  c.on('error', (err: { code?: string }) => c.errors.push(err));
  clients.push(c);
  return c;
}

async function ready(c: Redis): Promise<void> {
  await waitFor(() => c.status === 'ready', { timeoutMs: 5_000, description: 'the client to be ready' });
}

/** A raw TCP socket through the proxy, collecting what it receives. */
async function rawSocket(p: FaultProxy): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(p.port, p.host);
  sockets.push(socket);
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString()));
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', r));
  return { socket, received: () => data };
}

async function roundTrip(c: Redis): Promise<number> {
  const t0 = performance.now();
  await c.ping();
  return performance.now() - t0;
}

const key = (name: string): string => `fault-proxy:${randomUUID()}:${name}`;

describe('startFaultProxy', () => {
  it('forwards plainly on a free loopback port; its URL is the target URL with the proxy host and port', async () => {
    const p = await proxyFor();
    expect(p.host).toBe('127.0.0.1');
    expect(p.port).not.toBe(server.port);
    expect(new URL(p.url).port).toBe(String(p.port));
    const bare = await proxyFor({ host: server.host, port: server.port });
    expect(bare.url).toBe(`redis://127.0.0.1:${bare.port}`);
    const c = client(p.url);
    const k = key('plain');
    await c.set(k, 'v');
    expect(await withAdmin(server, (a) => a.get(k))).toBe('v');
    expect(p.connections).toBe(1);
    expect(p.faults).toEqual({ latencyMs: 0, jitterMs: 0, partition: 'none', bytes: 'drop', refusing: false });
    const s = p.stats();
    expect(s.accepted).toBe(1);
    expect(s.toServer.forwardedBytes).toBeGreaterThan(0);
    expect(s.toClient.forwardedBytes).toBeGreaterThan(0);
    expect(s.toServer.droppedBytes + s.toClient.droppedBytes).toBe(0);
    c.disconnect();
    await waitFor(() => p.connections === 0, { description: 'the closed client to leave the proxy' });
  });

  it.skipIf(!caps.control)('keeps the target password (and TLS scheme) in its URL', async () => {
    await using secured = await startRedis({ password: 'p@ss word' });
    const p = await proxyFor(secured);
    expect(p.url).toBe(`redis://:p%40ss%20word@127.0.0.1:${p.port}`);
    expect(await client(p.url).ping()).toBe('PONG');
  });

  it.skipIf(!caps.topologies)('carries TLS (bytes are opaque to it)', async () => {
    await using tls = await startRedis({ tls: true });
    const p = await proxyFor(tls);
    expect(p.url).toBe(`rediss://127.0.0.1:${p.port}`);
    expect(await client(p.url, { tls: { ca: tls.tls!.ca } }).ping()).toBe('PONG');
  });

  it('latency(ms, jitterMs) adds to every round trip, with seeded jitter; latency(0) removes it; heal() releases what is delayed', async () => {
    // Jitter draws from the injected generator: 0.5 always, so each chunk waits 60 + 0.5 × 80 = 100 ms.
    const p = await proxyFor(server, { random: () => 0.5 });
    const c = client(p.url);
    await ready(c);
    const baseline = Math.min(await roundTrip(c), await roundTrip(c));
    p.latency(60, 80);
    expect(p.faults).toMatchObject({ latencyMs: 60, jitterMs: 80 });
    const slowed = await roundTrip(c);
    expect(slowed).toBeGreaterThanOrEqual(195); // 100 ms each way (1 ms of timer rounding allowed per hop)
    expect(slowed - baseline).toBeGreaterThan(150);
    p.latency(0);
    expect(await roundTrip(c)).toBeLessThan(slowed);

    p.latency(10_000);
    const t0 = performance.now();
    const pending = c.ping();
    await waitFor(() => p.stats().toServer.pendingBytes > 0, { description: 'the PING to be held by latency' });
    p.heal();
    expect(await pending).toBe('PONG');
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('latency keeps order per connection and direction even when jitter would reorder chunks', async () => {
    let seed = 42; // a seeded generator (mulberry32): the same draws every run
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const p = await proxyFor(server, { random });
    const c = client(p.url);
    await ready(c);
    p.latency(0, 60);
    const replies: Array<Promise<string>> = [];
    for (let i = 0; i < 20; i++) {
      replies.push(c.echo(String(i)));
      await new Promise((r) => setImmediate(r)); // separate writes, so separate chunks at the proxy
    }
    // ioredis pairs replies with commands by order: any reordered chunk would show here.
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('blackhole(): a command hangs until commandTimeout while the connection stays up; new connections open but get nothing; heal() forwards again, dropped bytes stay dropped', async () => {
    const p = await proxyFor();
    const c = client(p.url, { commandTimeout: SILENCE_MS });
    await ready(c);
    const raw = await rawSocket(p);
    raw.socket.write('PING\r\n');
    await waitFor(() => raw.received() === '+PONG\r\n', { description: 'a PONG on the raw socket' });

    p.blackhole();
    expect(p.faults.partition).toBe('blackhole');
    const before = p.stats();
    const late = client(p.url, { lazyConnect: true });
    const lateConnect = late.connect().catch((err: unknown) => err);
    raw.socket.write('PING\r\n');
    await expect(c.ping()).rejects.toThrow('Command timed out');
    expect(c.status).toBe('ready');
    expect(c.events).not.toContain('close');
    expect(late.status).toBe('connect'); // TCP is up, its ready check got no answer
    expect(p.connections).toBe(3);
    expect(raw.received()).toBe('+PONG\r\n');
    const during = p.stats();
    expect(during.accepted).toBe(before.accepted + 1);
    expect(during.toServer.droppedBytes).toBeGreaterThan(before.toServer.droppedBytes);
    expect(during.toServer.forwardedBytes).toBe(before.toServer.forwardedBytes);
    expect(during.toClient.forwardedBytes).toBe(before.toClient.forwardedBytes);

    p.heal();
    expect(await client(p.url).ping()).toBe('PONG');
    raw.socket.write('PING\r\n');
    // The PING sent during the blackhole was dropped for good: one more PONG, not two.
    await waitFor(() => raw.received() === '+PONG\r\n+PONG\r\n', { description: 'the second PONG on the raw socket' });
    await sleep(50);
    expect(raw.received()).toBe('+PONG\r\n+PONG\r\n');
    late.disconnect();
    await lateConnect;
  });

  it("blackhole({ bytes: 'hold' }): nothing arrives during the partition, everything arrives in order on heal()", async () => {
    const p = await proxyFor();
    const c = client(p.url);
    await ready(c);
    p.blackhole({ bytes: 'hold' });
    const k = key('held');
    const replies = Promise.all([c.set(k, 'v'), c.get(k)]);
    const outcome = await Promise.race([replies.then(() => 'answered'), sleep(SILENCE_MS).then(() => 'silent')]);
    expect(outcome).toBe('silent');
    expect(await withAdmin(server, (a) => a.get(k))).toBeNull();
    expect(p.stats().toServer.pendingBytes).toBeGreaterThan(0);
    p.heal();
    expect(await replies).toEqual(['OK', 'v']);
    expect(p.stats().toServer.droppedBytes).toBe(0);
  });

  it('halfOpen(): the command executes on the server, the proxied client never sees the reply', async () => {
    const p = await proxyFor();
    const c = client(p.url, { commandTimeout: SILENCE_MS });
    await ready(c);
    p.halfOpen();
    const k = key('half-open');
    await expect(c.set(k, 'applied')).rejects.toThrow('Command timed out');
    expect(await withAdmin(server, (a) => a.get(k))).toBe('applied');
    expect(c.status).toBe('ready');
    expect(c.events).not.toContain('close');
    const s = p.stats();
    expect(s.toClient.droppedBytes).toBeGreaterThan(0);
    expect(s.toServer.droppedBytes).toBe(0);
    expect(p.connections).toBe(1);
  });

  it('reset(): every connection gets an RST; the client sees ECONNRESET, closes and reconnects through the proxy', async () => {
    const p = await proxyFor();
    const c = client(p.url);
    await ready(c);
    const closed = nextEvent(c, 'close', 5_000);
    p.reset();
    expect(p.connections).toBe(0);
    await closed;
    expect(c.errors.map((e) => e.code)).toContain('ECONNRESET');
    await waitFor(() => c.events.filter((e) => e === 'ready').length === 2, { timeoutMs: 5_000, description: 'the client to reconnect' });
    expect(await c.ping()).toBe('PONG');
    expect(p.stats()).toMatchObject({ accepted: 2, reset: 1, refused: 0 });
    expect(p.connections).toBe(1);
  });

  it('reset() right after heal() of a connection whose client closed during a half-open partition frees it: close() settles (regression)', async () => {
    const p = await proxyFor();
    const { socket } = await rawSocket(p);
    p.halfOpen();
    socket.end(); // the client's FIN goes through; the server's FIN back is held by the partition
    await sleep(100);
    p.heal(); // releases the held FIN: the proxy ends its side of the client connection...
    p.reset(); // ...and resets it in the same tick: Node cannot send an RST on a shut-down socket
    const closing = p.close().then(() => 'closed' as const);
    // Before the fix the failed reset left the socket without a 'close' event, and close() hung.
    expect(await Promise.race([closing, sleep(2_000).then(() => 'still open' as const)])).toBe('closed');
  });

  it('refuse(): new connections are closed at once, existing ones keep working; heal() accepts again', async () => {
    const p = await proxyFor();
    const existing = client(p.url);
    await ready(existing);
    p.refuse();
    const refused = client(p.url, { lazyConnect: true, retryStrategy: () => null });
    await expect(refused.connect()).rejects.toThrow();
    expect(refused.status).not.toBe('ready');
    expect(await existing.ping()).toBe('PONG');
    expect(p.stats()).toMatchObject({ accepted: 1, refused: 1 });
    expect(p.connections).toBe(1);
    p.heal();
    expect(await client(p.url).ping()).toBe('PONG');
    expect(p.stats()).toMatchObject({ accepted: 2, refused: 1 });
  });

  it('counts connections the target refuses as upstream errors and resets the client', async () => {
    const p = await proxyFor({ host: '127.0.0.1', port: await getFreePort() }); // nothing listens there
    const raw = await rawSocket(p);
    await new Promise((r) => raw.socket.once('close', r));
    expect(p.stats().upstreamErrors).toBe(1);
  });

  it('rejects bad arguments and use after close; close() is idempotent', async () => {
    const p = await proxyFor();
    expect(() => p.latency(-1)).toThrow(RangeError);
    expect(() => p.latency(10, Number.NaN)).toThrow(/jitterMs must be a finite number >= 0/);
    expect(() => p.blackhole({ bytes: 'lose' as 'drop' })).toThrow(/bytes must be 'drop' or 'hold'/);
    await expect(startFaultProxy(server, { random: 1 as unknown as () => number })).rejects.toThrow(/opts.random/);
    await Promise.all([p.close(), p.dispose()]);
    await p.close();
    expect(() => p.blackhole()).toThrow(TestkitCapabilityError);
    expect(() => p.heal()).toThrow(/fault proxy on port \d+ is closed/);
  });

  it('dispose() leaves no handle: a process with a held connection and a pending latency timer exits by itself', async () => {
    const script = `
      import { connect } from 'node:net';
      import { startFaultProxy } from ${JSON.stringify(distEntry)};
      const proxy = await startFaultProxy({ host: process.argv[1], port: Number(process.argv[2]) });
      const socket = connect(proxy.port, proxy.host);
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      proxy.latency(60_000);
      socket.write('PING\\r\\n');
      while (proxy.stats().toServer.pendingBytes === 0) await new Promise((r) => setTimeout(r, 5));
      await Promise.all([proxy.dispose(), proxy.close()]);
      await proxy.dispose();
      process.stdout.write(JSON.stringify({ connections: proxy.connections, stats: proxy.stats() }) + '\\n');
    `;
    const child = runNodeScript(script, [server.host, String(server.port)]);
    expect(await child.exitWithin(5_000)).toBe(0);
    const report = JSON.parse(child.output()) as { connections: number; stats: { toServer: { droppedBytes: number; pendingBytes: number } } };
    expect(report.connections).toBe(0);
    expect(report.stats.toServer).toMatchObject({ droppedBytes: 6, pendingBytes: 0 });
  });
});
