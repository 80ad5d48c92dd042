import { startRedis, testkitCapabilities } from '@lota/redis-testkit';
import { describe, expect, it } from 'vitest';
import { createLotaRuntime, ConfigError, type Processor } from '../src/index.js';
import { errorSurfaces, expectNoSecret, generateSecrets } from './secrets.js';

const processor: Processor = async () => undefined;
const caps = await testkitCapabilities();

describe('config', () => {
  it("the seed's samples are valid as written", async () => {
    await expect(createLotaRuntime({ redis: { url: 'redis://localhost:6379' } })).resolves.toBeDefined();
    await expect(
      createLotaRuntime({ redis: { url: 'redis://localhost:6379' }, extraWorkers: [{ queue: 'custom-queue', concurrency: 5, processor }] }),
    ).resolves.toBeDefined();
    await expect(createLotaRuntime({ redis: { url: 'redis://localhost:6379' }, aiGateway: { embeddingCacheTtlSeconds: 86400 } })).resolves.toBeDefined();
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['unknown top-level key', { redis: {}, worker: {} }, 'worker', /unknown option/],
    ['unknown redis key', { redis: { hots: 'x' } }, 'redis.hots', /unknown option/],
    ['bad redis url', { redis: { url: 'http://x' } }, 'redis.url', /redis:\/\/ or rediss:\/\//],
    ['unknown built-in queue worker', { redis: {}, workers: { 'memory-extractoin': { processor } } }, 'workers.memory-extractoin', /unknown option/],
    ['processor not a function', { redis: {}, workers: { 'memory-digest': { processor: 'fn' } } }, 'workers.memory-digest.processor', /must be a function/],
    ['extra worker concurrency', { redis: {}, extraWorkers: [{ queue: 'q', concurrency: 0, processor }] }, 'extraWorkers.0.concurrency', /from 1 to 10000, got 0/],
    ['ttl type', { redis: {}, aiGateway: { embeddingCacheTtlSeconds: '1d' } }, 'aiGateway.embeddingCacheTtlSeconds', /must be a number/],
    ['provider shape', { redis: {}, aiGateway: { embeddingProvider: { embed() {} } } }, 'aiGateway.embeddingProvider', /model, embed/],
    ['cache redis url', { redis: {}, aiGateway: { embeddingCacheRedis: { url: 'nope' } } }, 'aiGateway.embeddingCacheRedis.url', /redis:\/\//],
    ['policy key', { redis: {}, queues: { policies: { 'memory-digest': { debounce: 5 } } } }, 'queues.policies.memory-digest.debounce', /unknown option/],
    ['lock ttl', { redis: {}, memoryLock: { ttlMs: 0 } }, 'memoryLock.ttlMs', /from 10 to 2147483647, got 0/],
    ['adapter shape', { redis: {}, memoryLock: { adapter: {} } }, 'memoryLock.adapter', /withLock/],
  ];
  for (const [what, input, path, message] of bad) {
    it(`rejects ${what}, naming ${path}`, async () => {
      const err = (await createLotaRuntime(input as never).catch((e: unknown) => e)) as ConfigError;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.code).toBe('CONFIG_INVALID');
      const issue = err.issues.find((i) => i.path === path);
      expect(issue, err.message).toBeDefined();
      expect(issue!.message).toMatch(message);
    });
  }

  it('reports every problem at once and never a password', async () => {
    const err = (await createLotaRuntime({ redis: { url: 'http://u:hunter2@h' }, bogus: 1, memoryLock: { ttlMs: -1 } } as never).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues.map((i) => i.path).sort()).toEqual(['bogus', 'memoryLock.ttlMs', 'redis.url']);
    expect(err.message).not.toContain('hunter2');
  });

  it('refuses a queue served twice: workers and extraWorkers, or extraWorkers twice, naming both paths', async () => {
    const twice = async (input: unknown): Promise<ConfigError> => {
      const err = (await createLotaRuntime(input as never).catch((e: unknown) => e)) as ConfigError;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.code).toBe('CONFIG_INVALID');
      return err;
    };
    const a = await twice({
      redis: {},
      workers: { 'memory-digest': { processor } },
      extraWorkers: [{ queue: 'custom', concurrency: 1, processor }, { queue: 'memory-digest', concurrency: 2, processor }],
    });
    const issueA = a.issues.find((i) => i.path === 'extraWorkers.1.queue');
    expect(issueA, a.message).toBeDefined();
    expect(issueA!.message).toContain('workers.memory-digest');
    expect(issueA!.message).toMatch(/one worker per queue|concurrency/);
    const b = await twice({
      redis: {},
      extraWorkers: [{ queue: 'custom', concurrency: 1, processor }, { queue: 'other', concurrency: 1, processor }, { queue: 'custom', concurrency: 3, processor }],
    });
    expect(b.issues.map((i) => i.path)).toEqual(['extraWorkers.2.queue']);
    expect(b.issues[0]!.message).toContain('extraWorkers.0.queue');
    expect(b.message).toContain('extraWorkers.2.queue');
    expect(b.message).toContain('extraWorkers.0.queue');
  });

  it('accepts lockDurationMs and maxStalledCount in queue policies, and validates them', async () => {
    await expect(
      createLotaRuntime({ redis: {}, queues: { policies: { 'memory-digest': { lockDurationMs: 5_000, maxStalledCount: 0 } } } }),
    ).resolves.toBeDefined();
    const bad: Array<[unknown, string, RegExp]> = [
      [{ lockDurationMs: 99 }, 'queues.policies.q.lockDurationMs', />= 100/],
      [{ lockDurationMs: 1.5 }, 'queues.policies.q.lockDurationMs', /whole number/],
      [{ maxStalledCount: -1 }, 'queues.policies.q.maxStalledCount', />= 0/],
      [{ maxStalledCount: '1' }, 'queues.policies.q.maxStalledCount', /must be a number/],
    ];
    for (const [policy, path, message] of bad) {
      const err = (await createLotaRuntime({ redis: {}, queues: { policies: { q: policy } } } as never).catch((e: unknown) => e)) as ConfigError;
      expect(err).toBeInstanceOf(ConfigError);
      const issue = err.issues.find((i) => i.path === path);
      expect(issue, err.message).toBeDefined();
      expect(issue!.message).toMatch(message);
    }
  });
});

describe('config: durable enqueue policy keys', () => {
  // Without the keys in the schema, the first call is refused as 'unknown option'; without the
  // cross-field check, the bad timeouts pass createLotaRuntime() and fail only at connect().
  it('accepts waitForReplicas and waitForReplicasTimeoutMs in queue policies, and validates them', async () => {
    await expect(
      createLotaRuntime({ redis: {}, queues: { policies: { 'memory-extraction': { waitForReplicas: 1, waitForReplicasTimeoutMs: 500 } } } }),
    ).resolves.toBeDefined();
    await expect(createLotaRuntime({ redis: {}, queues: { enqueueTimeoutMs: 800, policies: { q: { waitForReplicas: 0 } } } })).resolves.toBeDefined();
    const bad: Array<[unknown, string, RegExp]> = [
      [{ policies: { q: { waitForReplicas: -1 } } }, 'queues.policies.q.waitForReplicas', />= 0/],
      [{ policies: { q: { waitForReplicas: 'all' } } }, 'queues.policies.q.waitForReplicas', /must be a number/],
      [{ policies: { q: { waitForReplicasTimeoutMs: 0 } } }, 'queues.policies.q.waitForReplicasTimeoutMs', />= 1/],
      [{ policies: { q: { waitForReplicas: 1, waitForReplicasTimeoutMs: 5_000 } } }, 'queues.policies.q.waitForReplicasTimeoutMs', /lower than queues\.enqueueTimeoutMs \(5000 ms\)/],
      [{ enqueueTimeoutMs: 800, policies: { q: { waitForReplicas: 2 } } }, 'queues.policies.q.waitForReplicasTimeoutMs', /lower than queues\.enqueueTimeoutMs \(800 ms\).*\(default 1000\)/],
    ];
    for (const [queues, path, message] of bad) {
      const err = (await createLotaRuntime({ redis: {}, queues } as never).catch((e: unknown) => e)) as ConfigError;
      expect(err).toBeInstanceOf(ConfigError);
      const issue = err.issues.find((i) => i.path === path);
      expect(issue, err.message).toBeDefined();
      expect(issue!.message).toMatch(message);
    }
  });
});

describe('ConfigError never shows a secret', () => {
  it('property: 200 generated secrets in redis, cache redis and sentinel sections, with other mistakes around them', async () => {
    for (const secret of generateSecrets(200)) {
      const s = secret.value;
      const e = encodeURIComponent(s);
      const inputs: unknown[] = [
        { redis: { url: `redis://app:${s}@host:6379/x` } },
        { redis: { url: `redis://app:${s}@host:99999` }, memoryLock: { ttlMs: 0 } },
        { redis: { url: `redis://h:1/0?password=${s}` } },
        { redis: { cluster: { nodes: [`default:${s}@10.0.0.5:6379x`] } } },
        { redis: { sentinel: { sentinels: [`admin:${s}@10.0.0.9`], name: 'm', password: s } } },
        { redis: { password: s, username: s, hots: 1 } },
        { redis: { url: `redis://app:${e}@host:6379` }, aiGateway: { embeddingCacheRedis: { url: `http://app:${s}@cache:6379`, password: s } } },
        { redis: { url: `redis://app:${e}@host:6379` }, aiGateway: { embeddingCacheRedis: { url: `redis://${s}@cache/q` } }, extraWorkers: [{ queue: 'q', concurrency: 1, processor }, { queue: 'q', concurrency: 1, processor }] },
      ];
      for (const input of inputs) {
        const err = (await createLotaRuntime(input as never).catch((x: unknown) => x)) as ConfigError;
        expect(err, JSON.stringify(input)).toBeInstanceOf(ConfigError);
        expectNoSecret([...errorSurfaces(err), JSON.stringify(err.issues)], secret, JSON.stringify(input));
      }
    }
  });
});

describe.skipIf(!caps.control)('a failed connect() through the runtime never shows a secret', () => {
  it('wrong password in url and in the cache Redis password option: the error, its cause chain and the logs', async () => {
    await using server = await startRedis({ password: 'the-right-one' });
    for (const secret of generateSecrets(3, 77)) {
      const e = encodeURIComponent(secret.value);
      const lines: string[] = [];
      const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((l) => [l, (f: unknown, m: string) => void lines.push(`${m} ${JSON.stringify(f)}`)])) as never;
      for (const config of [
        { redis: { url: `redis://:${e}@127.0.0.1:${server.port}`, connectTimeoutMs: 1_000 }, logger },
        { redis: { url: server.url, connectTimeoutMs: 1_000 }, aiGateway: { embeddingCacheRedis: { url: `redis://127.0.0.1:${server.port}`, password: secret.value, connectTimeoutMs: 1_000 } }, logger },
      ]) {
        const r = await createLotaRuntime(config);
        const err = await r.connect().then(() => expect.fail('connect() should fail'), (x: unknown) => x as Error & { code: string });
        expect(err.code).toBe('REDIS_UNREACHABLE');
        expectNoSecret([...errorSurfaces(err), lines.join('\n'), JSON.stringify(await r.health())], secret, JSON.stringify(config));
        await r.disconnect({ timeoutMs: 500 });
      }
    }
  });
});
