import { getFreePort, startRedis, testkitCapabilities, waitFor } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createRedisConnectionManager, redactUrl, RedisUnreachableError, resolveRedisConfig, type RedisConfig, type RedisConnectionManager } from '../src/index.js';
import { errorSurfaces, expectNoSecret, generateSecrets, REVIEWED_LEAKS, type Secret } from './secrets.js';

const caps = await testkitCapabilities();

/** Config inputs that carry `s` in every place a password (or an ACL user) can hide, valid and not. */
function inputsWith(s: string): Array<Record<string, unknown>> {
  const e = encodeURIComponent(s);
  return [
    { url: `redis://app:${s}@host:6379/x` },
    { url: `redis://app:${s}@host:6379` },
    { url: `redis://app:${s}@host:99999` },
    { url: `redis://app:${s}@host:6379x` },
    { url: `redis://app:${e}@host:99999` },
    { url: `redis://app:${e}@host:6379/cache` },
    { url: `redis://app:${e}@host:6379/0`, keyPrefix: '{bad}' },
    { url: `rediss://${e}:${e}@[::1]:6379/3` },
    { url: `http://app:${s}@host:6379` },
    { url: `http://app:${e}@host:6379` },
    { url: `app:${s}@host:6379` },
    { url: `//app:${s}@host:6379` },
    { url: `redis://${s}@host:6379/x` },
    { url: `redis://${e}@host:6379` },
    { url: `redis://host:6379/0?password=${s}` },
    { url: `redis://host:6379/0?password=${e}` },
    { url: `redis://host:6379/0#${s}` },
    { url: s },
    { url: `redis://app:${e}@host:6379`, cluster: { nodes: ['h:1'] } },
    { url: `redis://app:${e}@host:6379`, password: s, db: -1 },
    { password: s, hots: 1 },
    { password: s, connectTimeoutMs: 'soon' },
    { username: s, password: s, healthCheckIntervalMs: 100, healthCheckTimeoutMs: 100 },
    { url: 'redis://h:1', username: s },
    { cluster: { nodes: [`default:${s}@10.0.0.5:6379x`] } },
    { cluster: { nodes: [`default:${s}@10.0.0.5:6379`] } },
    { cluster: { nodes: [`${s}@10.0.0.5:6379`] } },
    { cluster: { nodes: [`redis://default:${s}@10.0.0.5:bad`] } },
    { cluster: { nodes: [`redis://default:${e}@10.0.0.5:7000`, `redis://default:${e}x@10.0.0.6:7000`] } },
    { cluster: { nodes: [`redis://default:${e}@10.0.0.5:7000`] }, password: 'other-one' },
    { cluster: { nodes: [`redis://default:${e}@10.0.0.5:7000/2`] } },
    { cluster: { nodes: [s] } },
    { sentinel: { sentinels: [`admin:${s}@10.0.0.9`], name: 'main' } },
    { sentinel: { sentinels: [`admin:${s}@10.0.0.9:26379`], name: 'main' } },
    { sentinel: { sentinels: [`redis://admin:${s}@10.0.0.9:x`], name: 'main' } },
    { sentinel: { sentinels: [s], name: 'main' } },
    { sentinel: { sentinels: ['s:26379'], name: 'main', password: s, username: s, tls: 'yes' } },
    { sentinel: { sentinels: ['s:26379'], name: 'main', password: s }, url: `redis://${e}:${e}@ignored/2` },
  ];
}

/** Runs one input through the config resolver and the manager constructor; checks every output. */
function checkConfig(input: Record<string, unknown>, secret: Secret): void {
  const context = `config ${JSON.stringify(input)}`;
  let resolved: ReturnType<typeof resolveRedisConfig> | undefined;
  try {
    resolved = resolveRedisConfig(input, 'redis');
  } catch (err) {
    expect(err, context).toBeInstanceOf(ConfigError);
    expectNoSecret([...errorSurfaces(err), JSON.stringify((err as ConfigError).issues)], secret, context);
  }
  if (resolved) expectNoSecret([resolved.target.display], secret, `${context} (display)`);
  try {
    const m = createRedisConnectionManager(input);
    expectNoSecret([m.target], secret, `${context} (manager.target)`);
  } catch (err) {
    expectNoSecret(errorSurfaces(err), secret, context);
  }
}

describe('no secret in any config message', () => {
  it('the five reviewed leaks, verbatim: nothing of the password is printed', () => {
    for (const { input, secret } of REVIEWED_LEAKS) {
      const err = (() => {
        try {
          resolveRedisConfig(input);
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error(`expected ${JSON.stringify(input)} to be refused`);
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expectNoSecret(errorSurfaces(err), secret, JSON.stringify(input));
    }
  });

  it('what was parsed is printed instead of the input: host and port when they are certain, never the text', () => {
    const msg = (input: Record<string, unknown>): string => {
      try {
        resolveRedisConfig(input);
      } catch (e) {
        return (e as ConfigError).message;
      }
      return '';
    };
    expect(msg({ url: 'http://user:hunter2@cache.internal:6380' })).toMatch(/url: must start with redis:\/\/ or rediss:\/\/ \(got http:\/\/ for host cache\.internal, port 6380\)/);
    expect(msg({ url: 'redis://u:pw@cache.internal:6380/cache' })).toMatch(/database index.*\(parsed host cache\.internal, port 6380\)/);
    expect(msg({ url: 'redis://u:pw@cache.internal:6380/cache' })).not.toMatch(/cache'|\bu\b|pw/);
    // The host after an unencoded "/" in a password would be a piece of the password: not printed.
    const slash = msg({ url: 'redis://app:12/zq9secret@host:6379' });
    expect(slash).toMatch(/percent-encode/);
    expect(slash).not.toMatch(/zq9secret|app|\b12\b/);
    expect(msg({ url: 'redis://app:p@ss@host:99999' })).toMatch(/url: is not a valid URL/);
  });

  it('property: 300 generated secrets in every config position never reach a message, String(err), stack, JSON or inspect', () => {
    const secrets = generateSecrets(300);
    for (const secret of secrets) for (const input of inputsWith(secret.value)) checkConfig(input, secret);
  });

  it('redactUrl masks the reviewed forms: several @, spaces, no scheme, query passwords', () => {
    const cases: Array<[string, string, string]> = [
      ['redis://app:p@ss-w0rd@host:6379/x', 'ss-w0rd', 'redis://***@host:6379/x'],
      ['redis://app:my secret@host:99999', 'secret', 'redis://***@host:99999'],
      ['node default:S3cretPw@10.0.0.5:6379x is bad', 'S3cretPw', 'node ***@10.0.0.5:6379x is bad'],
      ['admin:Sent1nelPw@10.0.0.9', 'Sent1nelPw', '***@10.0.0.9'],
      ['redis://host:6379/0?password=hunter3&x=1', 'hunter3', 'redis://host:6379/0?password=***&x=1'],
      // It errs on masking too much: everything up to the line's last @ may be a password.
      ['failed redis://a:b@h:1 and rediss://:c@d', ':c', 'failed redis://***@d'],
      ['no credentials: redis://h:6379/0 and user@example.com', 'xx', 'no credentials: redis://***@example.com'],
      ['a mail address alone is left alone: ops@example.com', 'xx', 'a mail address alone is left alone: ops@example.com'],
    ];
    for (const [text, secret, expected] of cases) {
      expect(redactUrl(text)).not.toContain(secret);
      expect(redactUrl(text)).toBe(expected);
    }
    for (const secret of generateSecrets(200, 7)) {
      const s = secret.value;
      for (const text of [`redis://app:${s}@host:6379/0`, `rediss://${s}@host`, `redis://app:${encodeURIComponent(s)}@host`, `redis://h:1/0?password=${encodeURIComponent(s)}`]) {
        expectNoSecret([redactUrl(text)], secret, `redactUrl(${JSON.stringify(text)})`);
      }
    }
  });
});

describe.skipIf(!caps.control)('no secret when connecting fails, in logs, events or health()', () => {
  const managers: RedisConnectionManager[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.disconnect({ timeoutMs: 300 })));
  });

  /** Connects with `config`, expects REDIS_UNREACHABLE, and checks the error, its cause, the logs and the error events. */
  async function failingConnect(config: RedisConfig, secret: Secret, context: string): Promise<RedisUnreachableError> {
    const logger = recordingLogger();
    const m = createRedisConnectionManager({ connectTimeoutMs: 1_500, ...config, logger });
    managers.push(m);
    const events: unknown[] = [];
    m.on('error', (e) => events.push(e));
    const err = await m.connect().then(
      () => expect.fail(`${context}: connect() should fail`),
      (e: unknown) => e as RedisUnreachableError,
    );
    expect(err, context).toBeInstanceOf(RedisUnreachableError);
    expect(err.code).toBe('REDIS_UNREACHABLE');
    const health = await m.health();
    expectNoSecret([...errorSurfaces(err), logger.text(), ...events.flatMap(errorSurfaces), JSON.stringify(health), m.target], secret, context);
    return err;
  }

  const secrets: Secret[] = [
    { value: 'zqsecret1@:/#? %40é密', markers: ['zqsecret1'] },
    { value: 'p@ss:w/rd zqmarker2', markers: ['zqmarker2'] },
    ...generateSecrets(3, 99),
  ];

  it('connection refused: url password, password option, ACL user', async () => {
    const port = await getFreePort();
    for (const s of secrets) {
      const e = encodeURIComponent(s.value);
      await failingConnect({ url: `redis://${e}:${e}@127.0.0.1:${port}` }, s, `refused url ${s.value}`);
      await failingConnect({ url: `redis://127.0.0.1:${port}`, username: s.value, password: s.value }, s, `refused options ${s.value}`);
    }
  });

  it('wrong password (WRONGPASS): the AUTH arguments ioredis attaches to the error are not exposed', async () => {
    await using server = await startRedis({ password: 'the-right-one', users: [{ name: 'bob', password: 'bobs-right-one' }] });
    for (const s of secrets) {
      const e = encodeURIComponent(s.value);
      const err = await failingConnect({ url: `redis://:${e}@127.0.0.1:${server.port}` }, s, `wrongpass url ${s.value}`);
      expect(err.message).toMatch(/WRONGPASS|invalid username-password/);
      await failingConnect({ url: `redis://bob:${e}@127.0.0.1:${server.port}` }, s, `wrongpass acl ${s.value}`);
      await failingConnect({ url: `redis://127.0.0.1:${server.port}`, username: 'bob', password: s.value }, s, `wrongpass option ${s.value}`);
    }
  });

  it('TLS failure (untrusted certificate)', async () => {
    await using server = await startRedis({ tls: true, password: 'x' });
    for (const s of secrets.slice(0, 2)) {
      const e = encodeURIComponent(s.value);
      await failingConnect({ url: `rediss://:${e}@localhost:${server.port}` }, s, `tls ${s.value}`);
    }
  });

  it('Sentinel password refused by the sentinel, and a cluster node with the wrong password', async () => {
    await using guarded = await startRedis({ password: 'the-right-one' });
    for (const s of secrets.slice(0, 2)) {
      const e = encodeURIComponent(s.value);
      await failingConnect(
        { sentinel: { sentinels: [`127.0.0.1:${guarded.port}`], name: 'main', password: s.value, username: 'default' }, url: `redis://:${e}@ignored` },
        s,
        `sentinel ${s.value}`,
      );
      await failingConnect({ cluster: { nodes: [`redis://default:${e}@127.0.0.1:${guarded.port}`] } }, s, `cluster ${s.value}`);
    }
  });

  it('a connected manager that loses Redis: warnings, error events and health() name the target without its password', async () => {
    const secret: Secret = { value: 'zqlive77 @:/', markers: ['zqlive77'] };
    await using server = await startRedis({ password: secret.value });
    const logger = recordingLogger();
    const m = createRedisConnectionManager({ url: `redis://:${encodeURIComponent(secret.value)}@127.0.0.1:${server.port}`, logger, healthCheckIntervalMs: 100, healthCheckTimeoutMs: 50 });
    managers.push(m);
    const events: unknown[] = [];
    m.on('error', (e) => events.push(e));
    m.on('health', (e) => events.push(e));
    await m.connect();
    await server.kill();
    await waitFor(() => logger.lines.some((l) => l.level === 'warn'), { description: 'a warning about the lost connection' });
    const health = await m.health();
    expect(health.status).toBe('down');
    expectNoSecret([logger.text(), JSON.stringify(health), ...events.map((e) => JSON.stringify(e)), ...events.flatMap(errorSurfaces), m.target], secret, 'lost connection');
    expect(m.target).toBe(`redis://***@127.0.0.1:${server.port}`);
  });
});
