import { startCluster, startFaultProxy, startRedis, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisConnectionManager, silentLogger, type RedisClient } from '../src/index.js';
import { connectionClosedError } from '@lota/shared';
import { finishDisconnect, guardPendingCommands, missingIoredisInternals } from '../src/pending-commands.js';

const caps = await testkitCapabilities();

/** How each command a client sends from now on ended ('pending' until it settles). */
function recordCommands(client: Redis): Array<{ name: string; outcome: string }> {
  const sent: Array<{ name: string; outcome: string }> = [];
  const internal = client as unknown as { sendCommand(command: { name: string; promise: Promise<unknown> }, stream?: unknown): unknown };
  const send = internal.sendCommand.bind(client);
  internal.sendCommand = (command, stream) => {
    const record = { name: command.name, outcome: 'pending' };
    sent.push(record);
    command.promise.then(
      () => (record.outcome = 'ok'),
      (err: unknown) => (record.outcome = (err as Error).message),
    );
    return send(command, stream);
  };
  return sent;
}

function prevCommandQueueLength(client: Redis): number {
  return (client as unknown as { prevCommandQueue?: { length: number } | null }).prevCommandQueue?.length ?? 0;
}

describe('the ioredis internals pending-commands.ts reads', () => {
  it('are all there on a Redis and a Cluster of the installed ioredis', () => {
    const redis = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(missingIoredisInternals(redis)).toEqual([]);
    expect(missingIoredisInternals(cluster)).toEqual([]);
    // The check can fail: an object without them is reported field by field.
    expect(missingIoredisInternals({} as RedisClient)).toEqual([
      'Redis#offlineQueue',
      'Redis#commandQueue',
      'Redis#flushQueue',
      'Redis#setStatus',
      'Redis#resetCommandQueue',
    ]);
  });
});

describe.skipIf(!caps.control)('pending commands ioredis forgets, on a real ioredis client', () => {
  it('a command kept for resend survives reconnects mid-handshake and is resent; the dropped handshakes are rejected at once', { timeout: 30_000 }, async () => {
    await using server = await startRedis({ password: 'pending-commands-pw' });
    await using proxy = await startFaultProxy(server);
    const client = new Redis(proxy.url, { commandTimeout: 8_000, connectionName: 'lota:test' });
    client.on('error', () => undefined);
    guardPendingCommands(client);
    let connects = 0;
    client.on('connect', () => connects++);
    try {
      await client.set('lota:pending', 'value');
      await waitFor(() => client.status === 'ready', { description: 'ready' });
      const sent = recordCommands(client);
      proxy.halfOpen();
      const get = client.get('lota:pending');
      const before = connects;
      proxy.reset(); // ready connection closed with GET unanswered: ioredis keeps it for resend
      await waitFor(() => connects === before + 1, { description: 'reconnect 1' });
      expect(prevCommandQueueLength(client)).toBe(1);
      // AUTH, or HELLO 3 AUTH on ioredis 6 (RESP3 by default), opens each handshake.
      const isAuth = (c: { name: string }): boolean => c.name === 'auth' || c.name === 'hello';
      const firstAuth = sent.findIndex(isAuth);
      expect(firstAuth, JSON.stringify(sent)).toBeGreaterThan(0);
      proxy.reset(); // closed mid-handshake: the next connect replaces ioredis' command queue
      await waitFor(() => connects === before + 2, { description: 'reconnect 2' });
      // Rejected when ioredis dropped them, not 8 s later by commandTimeout.
      const firstHandshake = sent.slice(firstAuth, sent.findIndex((c, i) => i > firstAuth && isAuth(c)));
      await waitFor(() => firstHandshake.every((c) => c.outcome !== 'pending'), { description: 'first handshake settled', timeoutMs: 2_000 });
      expect(firstHandshake.map((c) => c.outcome)).toEqual(firstHandshake.map(() => 'Connection is closed.'));
      expect(sent[0]).toEqual({ name: 'get', outcome: 'pending' });
      proxy.heal();
      proxy.reset(); // a healthy connection: ioredis resends the GET it kept
      expect(await get).toBe('value');
    } finally {
      client.disconnect();
    }
  });

  it('finishDisconnect() rejects a command kept for resend and ends a client that was waiting to reconnect', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    await using proxy = await startFaultProxy(server);
    const client = new Redis(proxy.url, { commandTimeout: 8_000 });
    client.on('error', () => undefined);
    await waitFor(() => client.status === 'ready', { description: 'ready' });
    proxy.halfOpen();
    const get = client.get('lota:pending').then(
      () => 'resolved',
      (err: unknown) => (err as Error).message,
    );
    proxy.refuse();
    proxy.reset();
    await waitFor(() => client.status === 'reconnecting' && prevCommandQueueLength(client) === 1, { description: 'GET kept for resend' });
    client.disconnect();
    expect(client.status).toBe('reconnecting'); // what ioredis leaves: no socket, so no 'close' to end it
    expect(finishDisconnect(client, connectionClosedError())).toBe(1);
    expect(client.status).toBe('end');
    expect(await get).toBe('Connection is closed.');
    await expect(client.get('lota:later')).rejects.toThrow('Connection is closed.');
  });
});

describe.skipIf(!caps.control)('duplicates closed by their owner', () => {
  it('a BullMQ duplicate closed while its command waits for resend: the command is rejected (it has no timeout)', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    await using proxy = await startFaultProxy(server);
    const m = createRedisConnectionManager({ url: proxy.url, logger: silentLogger, healthCheckIntervalMs: 0 });
    await m.connect();
    try {
      const dup = m.getConnectionForBullMQ().duplicate() as Redis;
      await dup.ping();
      let connects = 0;
      dup.on('connect', () => connects++);
      proxy.halfOpen();
      let outcome = 'pending';
      void dup.get('lota:pending').then(
        () => (outcome = 'resolved'),
        (err: unknown) => (outcome = (err as Error).message),
      );
      proxy.reset();
      await waitFor(() => connects === 1 && prevCommandQueueLength(dup) === 1, { description: 'GET kept for resend, reconnected' });
      dup.disconnect(); // its owner closes it (a worker's close())
      await waitFor(() => dup.status === 'end', { description: 'duplicate ended' });
      await waitFor(() => outcome !== 'pending', { description: 'GET settled', timeoutMs: 2_000 });
      expect(outcome).toBe('Connection is closed.');
    } finally {
      await m.disconnect({ timeoutMs: 500 });
    }
  });
});

/**
 * Counts its runs in KEYS[1], then replies with an error ioredis' Cluster cannot tell from a real
 * TRYAGAIN: it retries the command after `retryDelayOnTryAgain`, from its delay queue.
 */
const TRYAGAIN_SCRIPT = "redis.call('INCR', KEYS[1]); return redis.error_reply('TRYAGAIN lota test: retried by ioredis')";

describe.skipIf(!caps.topologies)('disconnect() on a Cluster', () => {
  it('a command waiting out ioredis Cluster retry delay is rejected by the time disconnect() resolves', { timeout: 30_000 }, async () => {
    await using cluster = await startCluster({ masters: 3 });
    const m = createRedisConnectionManager({ cluster: { nodes: cluster.startupNodes }, logger: silentLogger, healthCheckIntervalMs: 0 });
    await m.connect();
    const general = m.getConnection() as Cluster;
    expect(missingIoredisInternals(general.nodes('all')[0] as Redis)).toEqual([]);
    let outcome = 'pending';
    const retried = general.eval(TRYAGAIN_SCRIPT, 1, 'lota:{pending}:runs').then(
      () => 'resolved',
      (err: unknown) => (err as Error).message,
    );
    void retried.then((o) => (outcome = o));
    // It ran once and now waits in the delay queue (300 ms between tries).
    await waitFor(async () => Number(await general.get('lota:{pending}:runs')) >= 1, { description: 'first run' });
    expect(outcome).toBe('pending');
    await m.disconnect({ timeoutMs: 1_000 });
    await new Promise((r) => setImmediate(r));
    expect(outcome).not.toBe('pending');
    expect(outcome).not.toBe('resolved');
  });
});
