import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { clientNames, killRedisUnderScript, reportedMs, runNodeScriptToEnd, startRedis, testkitCapabilities, watchResetThenFailedCheck, withAdmin } from '../src/index.js';
import { forEachTopology, recordingLogger } from '../src/vitest.js';

const caps = await testkitCapabilities();

describe('test helpers', () => {
  it('recordingLogger keeps every line with its fields, stamped by the given clock', () => {
    let t = 10;
    const log = recordingLogger(() => t++);
    log.warn({ orgId: 'o' }, 'slow');
    log.error({}, 'down');
    expect(log.lines).toEqual([
      { at: 10, level: 'warn', message: 'slow', fields: { orgId: 'o' } },
      { at: 11, level: 'error', message: 'down', fields: {} },
    ]);
    expect(log.text()).toBe('warn slow {"orgId":"o"}\nerror down {}');
  });

  it('clientNames lists the named and unnamed clients of a CLIENT LIST, without the connection that asked', async () => {
    await using server = await startRedis();
    const named = new Redis(server.url, { connectionName: 'lota:general' });
    const unnamed = new Redis(server.url);
    try {
      await Promise.all([named.ping(), unnamed.ping()]);
      const names = clientNames(await withAdmin(server, (c) => c.client('LIST') as Promise<string>));
      expect(names.sort()).toEqual(['', 'lota:general']);
    } finally {
      named.disconnect();
      unnamed.disconnect();
    }
  });

  it('reportedMs reads every "<label> <n> ms" a script printed', () => {
    expect(reportedMs('disconnected in 12 ms\nother\ndisconnected in 7 ms later\n', 'disconnected in')).toEqual([12, 7]);
    expect(reportedMs('a (b) 3 ms', 'a (b)')).toEqual([3]);
  });

  it('runNodeScriptToEnd: the exit code and stdout, or "still running" once the bound passes', async () => {
    expect(await runNodeScriptToEnd("process.stdout.write('hi ' + process.argv[1]); process.exitCode = 3;", ['there'], 5_000)).toEqual({ code: 3, output: 'hi there' });
    expect(await runNodeScriptToEnd('setInterval(() => {}, 1000);', [], 300)).toEqual({ code: 'still running', output: '' });
  });

  it.skipIf(!caps.control)('killRedisUnderScript: the server dies after "connected", then the script gets "go"', async () => {
    await using server = await startRedis();
    const script = `
      const { connect } = await import('node:net');
      const url = new URL(process.argv[1]);
      const socket = connect(Number(url.port), url.hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.on('error', () => {});
      process.stdout.write('connected\\n');
      process.stdin.once('data', (line) => {
        process.stdout.write('got ' + String(line).trim() + ', socket ' + (socket.destroyed || socket.readyState !== 'open' ? 'closed' : 'open') + '\\n');
        socket.destroy();
        process.stdin.destroy();
      });
    `;
    const end = await killRedisUnderScript(script, server, 5_000);
    expect(end).toEqual({ code: 0, output: 'connected\ngot go, socket closed\n' });
    expect(server.running).toBe(false);
  });

  it('watchResetThenFailedCheck: true only after an end followed by a reconnecting', () => {
    const listeners = new Map<string, () => void>();
    const probe = watchResetThenFailedCheck({ on: (event, listener) => listeners.set(event, listener) });
    listeners.get('reconnecting')!();
    expect(probe()).toBe(false);
    listeners.get('end')!();
    expect(probe()).toBe(false);
    listeners.get('reconnecting')!();
    expect(probe()).toBe(true);
  });
});

let cleaned = 0;
forEachTopology(
  'forEachTopology',
  {
    cluster: caps.topologies,
    redisOptions: { maxRetriesPerRequest: 1 },
    extend: (t) => ({
      get label() {
        return `on ${t.name}`;
      },
    }),
  },
  (t) => {
    it('hands each test a ready client and the package helpers', async () => {
      expect(await t.client.ping()).toBe('PONG');
      expect(t.server === undefined).toBe(t.name === 'cluster');
      expect(t.label).toBe(`on ${t.name}`);
      t.afterTest(() => {
        cleaned++;
      });
    });

    it('ran the clean-ups of the test before', () => {
      expect(cleaned).toBe(t.name === 'single' ? 1 : 2);
    });
  },
);
