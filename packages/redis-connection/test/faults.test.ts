import { fileURLToPath } from 'node:url';
import { killRedisUnderScript, startRedis, testkitCapabilities, waitFor, withAdmin } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisConnectionManager, type RedisConnectionManager, type RedisConnectionManagerEvents } from '../src/index.js';

const caps = await testkitCapabilities();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Parameters<typeof startRedis>[0], config: Parameters<typeof createRedisConnectionManager>[0] = {}) {
  const server = await startRedis(opts);
  cleanups.push(() => server.dispose());
  const logger = recordingLogger();
  const m = createRedisConnectionManager({ url: server.url, logger, ...config });
  cleanups.push(() => m.disconnect({ timeoutMs: 500 }));
  await m.connect();
  return { server, m, logger };
}

function collect<E extends keyof RedisConnectionManagerEvents>(m: RedisConnectionManager, event: E): Array<RedisConnectionManagerEvents[E][0]> {
  const seen: Array<RedisConnectionManagerEvents[E][0]> = [];
  (m.on as (e: E, l: (arg: RedisConnectionManagerEvents[E][0]) => void) => void)(event, (arg) => seen.push(arg));
  return seen;
}

describe.skipIf(!caps.control)('faults', () => {
  it('server SIGKILLed and restarted: every client reconnects by itself and commands succeed again', async () => {
    const { server, m, logger } = await setup({ appendOnly: true });
    const general = m.getConnection() as Redis;
    const bull = m.getConnectionForBullMQ() as Redis;
    const dup = bull.duplicate();
    await dup.ping();
    await general.set('k', 'before');
    const readyEvents = collect(m, 'ready');
    const reconnecting = collect(m, 'reconnecting');
    await server.kill();
    await waitFor(() => reconnecting.length >= 3, { description: 'reconnecting events from all three clients' });
    // While down: the BullMQ client waits (maxRetriesPerRequest: null), it does not fail.
    const waitingWrite = bull.set('k2', 'queued-while-down');
    await server.restart();
    await waitFor(() => new Set(readyEvents.map((e) => e.role)).size === 3, { timeoutMs: 15_000, description: 'ready from general, bullmq and the duplicate' });
    expect(await waitingWrite).toBe('OK');
    expect(await general.get('k')).toBe('before');
    expect(await general.get('k2')).toBe('queued-while-down');
    expect(await dup.ping()).toBe('PONG');
    expect((await m.health()).status).toBe('ready');
    expect(logger.lines.some((l) => l.level === 'warn' && /connection lost|connection error/.test(l.message))).toBe(true);
    expect(logger.lines.some((l) => /connection restored/.test(l.message))).toBe(true);
  });

  it('general commands on a dead server settle within commandTimeoutMs instead of waiting forever', async () => {
    const { server, m } = await setup({}, { commandTimeoutMs: 400 });
    await server.kill();
    const started = Date.now();
    await expect((m.getConnection() as Redis).get('k')).rejects.toThrow(/timed out|Connection is closed|ECONNREFUSED|max retries/i);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('server paused past the health-check timeout: PINGs fail, reconnects are forced on every client, and work resumes after resume()', async () => {
    const { server, m } = await setup({}, { healthCheckIntervalMs: 150, healthCheckTimeoutMs: 100, healthCheckBlockingGraceMs: 100 });
    const dup = (m.getConnectionForBullMQ() as Redis).duplicate();
    await dup.ping();
    const health = collect(m, 'health');
    await waitFor(() => health.some((h) => h.ok), { description: 'a passing health check' });
    await server.pause();
    await waitFor(
      () => {
        const forced = new Set(health.filter((h) => !h.ok && h.reconnectForced).map((h) => h.role));
        return forced.has('general') && forced.has('bullmq') && forced.has('bullmq-duplicate');
      },
      { timeoutMs: 5_000, description: 'forced reconnects on general, bullmq and the worker duplicate' },
    );
    const failed = health.find((h) => !h.ok)!;
    expect(failed.error?.message).toMatch(/no reply within 100 ms/);
    expect((await m.health()).status).not.toBe('ready');
    const readyAgain = collect(m, 'ready');
    await server.resume();
    await waitFor(() => new Set(readyAgain.map((e) => e.role)).size === 3, { timeoutMs: 10_000, description: 'all clients ready after resume' });
    expect(await (m.getConnection() as Redis).set('after', '1')).toBe('OK');
    expect(await dup.ping()).toBe('PONG');
    await waitFor(async () => (await m.health()).status === 'ready', { description: 'health ready' });
  });

  it('a READONLY reply (failover left us on a replica) makes the client reconnect and retry', async () => {
    const primary = await startRedis();
    cleanups.push(() => primary.dispose());
    const { server: replica, m } = await setup({ config: { replicaof: ['127.0.0.1', primary.port] } });
    const reconnects = collect(m, 'reconnecting');
    const general = m.getConnection() as Redis;
    const write = general.set('promoted', 'yes');
    await waitFor(() => reconnects.some((r) => r.role === 'general'), { description: 'a reconnect after READONLY' });
    await withAdmin(replica, (c) => c.call('REPLICAOF', 'NO', 'ONE'));
    expect(await write).toBe('OK');
    expect(await withAdmin(replica, (c) => c.get('promoted'))).toBe('yes');
  });

  it('after disconnect() with Redis gone, the process has no open handle and exits by itself', async () => {
    const server = await startRedis();
    cleanups.push(() => server.dispose());
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      import { createRedisConnectionManager, silentLogger } from ${JSON.stringify(entry)};
      const m = createRedisConnectionManager({ url: process.argv[1], logger: silentLogger, healthCheckIntervalMs: 100, healthCheckTimeoutMs: 50 });
      await m.connect();
      const dup = m.getConnectionForBullMQ().duplicate();
      await dup.ping();
      process.stdout.write('connected\\n');
      process.stdin.once('data', async () => {
        m.getConnectionForBullMQ().set('never', 'acked').catch(() => {});
        await m.disconnect({ timeoutMs: 300 });
        process.stdout.write('disconnected\\n');
        process.stdin.destroy();
      });
    `;
    expect(await killRedisUnderScript(script, server, 5_000)).toMatchObject({ code: 0, output: expect.stringContaining('disconnected') });
  });
});
