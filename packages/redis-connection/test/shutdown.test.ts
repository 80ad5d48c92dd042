import { fileURLToPath } from 'node:url';
import { runNodeScript, startRedis, testkitCapabilities, waitFor } from '@lota/redis-testkit';
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

function elapsedOf(output: string): number {
  const m = /disconnected in (\d+) ms/.exec(output);
  return m ? Number(m[1]) : Number.NaN;
}

describe.skipIf(!caps.control)('disconnect() in a child process whose event loop nothing else holds', () => {
  it('Redis killed: the top-level await settles within its bound, the code after it runs, exit code 0', { timeout: 30_000 }, async () => {
    await using server = await startRedis();
    const child = runNodeScript(managerScript(1_000, 'reconnecting'), [server.url]);
    await waitFor(() => child.output().includes('connected'), { description: 'child connected' });
    await server.kill();
    child.send('go');
    const code = await child.exitWithin(8_000);
    expect({ code, output: child.output() }).toMatchObject({ code: 0, output: expect.stringContaining('disconnected in') });
    expect(elapsedOf(child.output())).toBeLessThanOrEqual(1_000 + 100);
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
    const child = runNodeScript(script, [server.url]);
    const code = await child.exitWithin(10_000);
    expect({ code, output: child.output() }).toMatchObject({ code: 0, output: expect.stringContaining('all done') });
    const times = [...child.output().matchAll(/disconnected in (\d+) ms/g)].map((m) => Number(m[1]));
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
