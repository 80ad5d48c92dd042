import { fileURLToPath } from 'node:url';
import { clientNames, killRedisUnderScript, reportedMs, runNodeScript, runNodeScriptToEnd, startFaultProxy, startRedis, testkitCapabilities, waitFor, withAdmin } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { createRedisConnectionManager, NotConnectedError, silentLogger } from '../src/index.js';

const caps = await testkitCapabilities();
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * The child holds the event loop with nothing but what the manager itself arms: stdin is
 * destroyed before `disconnect()`, and the script awaits it at the top level. If a timer the
 * call awaits is unref()'d, Node exits with code 13 (unsettled top-level await) before the
 * marker is printed.
 */
function managerScript(timeoutMs: number, waitForStatus?: string): string {
  return `
    import { createRedisConnectionManager, silentLogger } from ${JSON.stringify(entry)};
    const m = createRedisConnectionManager({ url: process.argv[1], logger: silentLogger, healthCheckIntervalMs: 100, healthCheckTimeoutMs: 50 });
    await m.connect();
    const dup = m.getConnectionForBullMQ().duplicate();
    await dup.ping();
    process.stdout.write('connected\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy();
    ${waitForStatus === undefined ? '' : `
    // Every client has seen the loss and waits on ioredis' reconnect timer.
    while ((await m.health()).clients.some((c) => c.status !== ${JSON.stringify(waitForStatus)})) await new Promise((r) => setTimeout(r, 10));`}
    const t0 = performance.now();
    await m.disconnect({ timeoutMs: ${timeoutMs} });
    process.stdout.write('disconnected in ' + Math.round(performance.now() - t0) + ' ms\\n');
  `;
}

/** The time the script says its first `disconnect()` took. */
const elapsedOf = (output: string): number => reportedMs(output, 'disconnected in')[0] ?? Number.NaN;

describe.skipIf(!caps.control)('disconnect() in a child process whose event loop nothing else holds', () => {
  it('Redis killed: the top-level await settles within its bound, the code after it runs, exit code 0', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    const end = await killRedisUnderScript(managerScript(1_000, 'reconnecting'), server, 8_000);
    expect(end).toMatchObject({ code: 0, output: expect.stringContaining('disconnected in') });
    expect(elapsedOf(end.output)).toBeLessThanOrEqual(1_000 + 100);
  });

  it('Redis paused (half-open): settles within its bound, exit code 0', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    const child = runNodeScript(managerScript(800), [server.url]);
    await waitFor(() => child.output().includes('connected'), { description: 'child connected' });
    await server.pause();
    try {
      child.send('go');
      const code = await child.exitWithin(8_000);
      expect({ code, output: child.output() }).toMatchObject({ code: 0, output: expect.stringContaining('disconnected in') });
      expect(elapsedOf(child.output())).toBeLessThanOrEqual(800 + 100);
    } finally {
      await server.resume();
    }
  });

  it('Redis up, disconnect() right after connect(), five times: each settles, exit code 0', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    const script = `
      import { createRedisConnectionManager, silentLogger } from ${JSON.stringify(entry)};
      for (let i = 0; i < 5; i++) {
        const m = createRedisConnectionManager({ url: process.argv[1], logger: silentLogger });
        await m.connect();
        const dup = m.getConnectionForBullMQ().duplicate();
        void dup.ping().catch(() => {});
        const t0 = performance.now();
        await m.disconnect({ timeoutMs: 1000 });
        process.stdout.write('disconnected in ' + Math.round(performance.now() - t0) + ' ms\\n');
      }
      process.stdout.write('all done\\n');
    `;
    const end = await runNodeScriptToEnd(script, [server.url], 10_000);
    expect(end).toMatchObject({ code: 0, output: expect.stringContaining('all done') });
    const times = reportedMs(end.output, 'disconnected in');
    expect(times).toHaveLength(5);
    for (const t of times) expect(t).toBeLessThanOrEqual(1_100);
  });
});

describe.skipIf(!caps.control)('disconnect() during connect()', () => {
  it('disconnect() while connect() waits on a paused server: settles within its own bound, and connect() rejects with NOT_CONNECTED', async () => {
    await using server = await startRedis();
    await server.pause();
    try {
      const m = createRedisConnectionManager({ url: server.url, logger: silentLogger, connectTimeoutMs: 8_000 });
      const connecting = m.connect().then(
        () => 'connected',
        (err: unknown) => err,
      );
      await waitFor(async () => (await m.health()).clients.length === 2, { description: 'both clients connecting' });
      const t0 = Date.now();
      await m.disconnect({ timeoutMs: 500 });
      expect(Date.now() - t0).toBeLessThan(800);
      expect(await connecting).toBeInstanceOf(NotConnectedError);
      expect(m.state).toBe('closed');
    } finally {
      await server.resume();
    }
  });
});

/**
 * The fault campaign's seed 115: a password (so ioredis sends AUTH on every connect) and a proxy
 * that turns half-open and then resets. ioredis keeps the unanswered commands of a ready
 * connection in `prevCommandQueue` (to resend them) and drops the handshake commands of a
 * connection that closed before it was ready when the next one connects; neither is reached by
 * its `flushQueue()`, and on the general client each holds a `commandTimeout` timer.
 */
describe.skipIf(!caps.control)('disconnect() leaves no ioredis command pending', () => {
  const modes = [
    { when: 'mid-handshake', status: 'connect' },
    { when: 'waiting to reconnect (new connections refused)', status: 'reconnecting' },
  ] as const;
  it.for(modes)(
    'GET kept for resend, a handshake dropped by ioredis, the client $when: the child exits right after disconnect() resolves',
    { timeout: 30_000 },
    async ({ status }) => {
      await using server = await startRedis({ password: 'pending-commands-pw' });
      await using proxy = await startFaultProxy(server);
      const script = `
        import { createRedisConnectionManager, silentLogger } from ${JSON.stringify(entry)};
        const out = (line) => process.stdout.write(line + '\\n');
        const step = () => new Promise((resolve) => process.stdin.once('data', resolve));
        const m = createRedisConnectionManager({ url: process.argv[1], logger: silentLogger, healthCheckIntervalMs: 0, commandTimeoutMs: 8000 });
        await m.connect();
        const g = m.getConnection();
        // Every command the general client sends from now on, and how it ended.
        const sent = [];
        const sendCommand = g.sendCommand.bind(g);
        g.sendCommand = (command, stream) => {
          const record = { name: command.name, outcome: 'pending' };
          sent.push(record);
          command.promise.then(() => (record.outcome = 'ok'), (err) => (record.outcome = err.message));
          return sendCommand(command, stream);
        };
        let connects = 0;
        g.on('connect', () => out('connect ' + ++connects));
        out('connected');
        await step(); // replies are dropped from now on
        void g.get('lota:pending-commands');
        out('get sent');
        await step(); // the proxy reset the ready connection, then the reconnected one mid-handshake
        process.stdin.destroy();
        while (g.status !== ${JSON.stringify(status)}) await new Promise((r) => setTimeout(r, 5));
        const len = (q) => (q ? q.length : 0);
        out('state ' + JSON.stringify({ status: g.status, commandQueue: len(g.commandQueue), offlineQueue: len(g.offlineQueue), prevCommandQueue: len(g.prevCommandQueue), sent }));
        const t0 = performance.now();
        await m.disconnect({ timeoutMs: 1000 });
        out('disconnected in ' + Math.round(performance.now() - t0) + ' ms, still pending: ' + JSON.stringify(sent.filter((r) => r.outcome === 'pending').map((r) => r.name)));
        out('outcomes ' + JSON.stringify(sent));
        // A command sent after disconnect() fails at once; it does not wait in an offline queue.
        g.get('lota:after').then(() => out('later: ok'), (err) => out('later: ' + err.message));
      `;
      const child = runNodeScript(script, [proxy.url]);
      await waitFor(() => child.output().includes('connected\n'), { description: 'child connected' });
      proxy.halfOpen();
      child.send('get');
      await waitFor(() => child.output().includes('get sent'), { description: 'GET sent' });
      proxy.reset(); // the ready connection closes with GET unanswered: ioredis keeps it for resend
      await waitFor(() => child.output().includes('connect 1\n'), { description: 'first reconnect (AUTH, CLIENT sent, no reply)' });
      proxy.reset(); // that connection closes mid-handshake; the next connect drops its commands
      await waitFor(() => child.output().includes('connect 2\n'), { description: 'second reconnect' });
      if (status === 'reconnecting') {
        proxy.refuse();
        proxy.reset();
      }
      child.send('go');
      await waitFor(() => /disconnected in \d+ ms/.test(child.output()), { description: 'disconnect() resolved', timeoutMs: 5_000 });
      const code = await child.exitWithin(1_500);
      const output = child.output();
      // The state reached: GET kept for resend, the handshake of at least two connections sent.
      const state = JSON.parse(/^state (.*)$/m.exec(output)?.[1] ?? '{}') as { status: string; prevCommandQueue: number; sent: Array<{ name: string }> };
      expect(state.status).toBe(status);
      expect(state.prevCommandQueue).toBe(1);
      expect(state.sent.filter((c) => c.name === 'auth').length).toBeGreaterThanOrEqual(2);
      expect({ code, stillPending: /still pending: (.*)$/m.exec(output)?.[1], later: /^later: (.*)$/m.exec(output)?.[1] }).toEqual({
        code: 0,
        stillPending: '[]',
        later: 'Connection is closed.',
      });
      expect(elapsedOf(output)).toBeLessThanOrEqual(1_000 + 100);
      // GET and every handshake command: none timed out, none resolved, none is left.
      const outcomes = JSON.parse(/^outcomes (.*)$/m.exec(output)?.[1] ?? '[]') as Array<{ name: string; outcome: string }>;
      expect(outcomes.find((c) => c.name === 'get')?.outcome).toBe('Connection is closed.');
      expect(outcomes.map((c) => c.outcome)).toEqual(outcomes.map(() => 'Connection is closed.'));
    },
  );
});

describe.skipIf(!caps.control)('a failed connect() leaves no ioredis command pending', () => {
  /**
   * Both clients sent their handshake through a half-open proxy, then the proxy resets them. The
   * first close makes ioredis reject connect(), and the manager gives up at once: the client that
   * closed first is waiting to reconnect, with its handshake still queued (on the general client,
   * each with a commandTimeout timer). Which client closes first varies, so five rounds.
   */
  it('connect() rejected by a reset mid-handshake: the child exits right after it rejects (five rounds)', { timeout: 40_000 }, async () => {
    const password = 'pending-commands-pw';
    await using server = await startRedis({ password });
    const script = `
      import { createRedisConnectionManager, silentLogger } from ${JSON.stringify(entry)};
      const m = createRedisConnectionManager({ url: process.argv[1], logger: silentLogger, commandTimeoutMs: 8000 });
      const t0 = performance.now();
      const err = await m.connect().then(() => undefined, (e) => e);
      process.stdout.write('connect rejected in ' + Math.round(performance.now() - t0) + ' ms with ' + err?.code + '\\n');
    `;
    const rounds: Array<{ code: number | null | 'still running'; output: string }> = [];
    for (let round = 0; round < 5; round++) {
      await using proxy = await startFaultProxy(server);
      proxy.halfOpen();
      const child = runNodeScript(script, [proxy.url]);
      // The server ran both clients' AUTH and CLIENT SETNAME: their replies were dropped.
      await waitFor(
        async () => {
          const names = clientNames(await withAdmin({ host: server.host, port: server.port, password }, (c) => c.client('LIST') as Promise<string>));
          return names.includes('lota:general') && names.includes('lota:bullmq');
        },
        { description: 'both handshakes sent' },
      );
      proxy.reset();
      await waitFor(() => /connect rejected in \d+ ms/.test(child.output()), { description: 'connect() rejected', timeoutMs: 5_000 });
      rounds.push({ code: await child.exitWithin(1_500), output: child.output().trim() });
    }
    expect(rounds).toEqual(rounds.map(() => ({ code: 0, output: expect.stringContaining('with REDIS_UNREACHABLE') })));
  });
});
