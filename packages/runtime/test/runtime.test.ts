import { clientNames, startRedis, waitFor, withAdmin, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLotaRuntime, NotConfiguredError, NotConnectedError, type LotaRuntime, type LockAdapter } from '../src/index.js';
import { localProvider } from './helpers.js';

let server: RedisServer;
const runtimes: LotaRuntime[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.disconnect({ timeoutMs: 2_000 })));
  await withAdmin(server, (c) => c.flushall());
});
afterAll(async () => {
  await server.dispose();
});
async function runtime(config: Omit<Parameters<typeof createLotaRuntime>[0], 'redis'> & { redis?: Parameters<typeof createLotaRuntime>[0]['redis'] } = {}): Promise<LotaRuntime> {
  const r = await createLotaRuntime({ logger: recordingLogger(), ...config, redis: { url: server.url, ...config.redis } });
  runtimes.push(r);
  return r;
}
const names = async (): Promise<string[]> => clientNames(await withAdmin(server, (c) => c.client('LIST') as Promise<string>));

describe('runtime', () => {
  it('before connect(), its parts say what to call; after disconnect(), that it is closed', async () => {
    const r = await runtime();
    expect(() => r.queues).toThrow(NotConnectedError);
    expect(() => r.locks).toThrow(/call `await runtime.connect\(\)` first/);
    expect(() => r.redis.getConnection()).toThrow(/connect\(\)/);
    await r.connect();
    expect(r.queues.queueNames).toContain('memory-extraction');
    await r.disconnect();
    expect(() => r.embeddings).toThrow(/after disconnect\(\)/);
    await expect(r.connect()).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('connect() starts the configured workers: built-in and extra (host) queues', async () => {
    const seen: string[] = [];
    const r = await runtime({
      workers: { 'memory-extraction': { processor: async (job) => void seen.push(`extract:${job.data.turnId as string}`), concurrency: 2 } },
      extraWorkers: [{ queue: 'custom-queue', concurrency: 5, processor: async (job) => void seen.push(`custom:${job.data.orgId}`), workerOptions: { lockDuration: 5_000 } }],
    });
    await r.connect();
    expect(r.queues.workers.find((w) => w.queue === 'custom-queue')?.worker.opts.lockDuration).toBe(5_000);
    await r.queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't1' });
    await r.queues.enqueue('custom-queue', { orgId: 'acme' });
    await waitFor(() => seen.length === 2, { description: 'both jobs' });
    expect(seen.sort()).toEqual(['custom:acme', 'extract:t1']);
    const h = await r.health();
    expect(h.status).toBe('ready');
    expect(h.workers).toEqual([
      { queue: 'memory-extraction', concurrency: 2, running: true },
      { queue: 'custom-queue', concurrency: 5, running: true },
    ]);
    expect((h.queues as Record<string, Record<string, number>>)['custom-queue']?.completed).toBe(1);
  });

  it('a job still running when disconnect() starts can use the locks, the cache and the queues until it finishes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const used: string[] = [];
    const r: LotaRuntime = await runtime({
      aiGateway: { embeddingProvider: localProvider() },
      workers: {
        'memory-extraction': {
          processor: async () => {
            started = true;
            await gate;
            await r.locks.withOrgMemoryLock('acme', async () => void used.push('lock'));
            used.push(`${(await r.embeddings.embed(['late'])).length} vector`);
            used.push(r.queues.queueNames.length > 0 ? 'queues' : 'no queues');
          },
        },
      },
    });
    await r.connect();
    const { jobId } = await r.queues.enqueueMemoryExtraction({ orgId: 'acme', workstreamId: 'w', turnId: 't' });
    const bull = r.queues.getQueue('memory-extraction');
    await waitFor(() => started, { description: 'the job to start' });
    const closing = r.disconnect({ timeoutMs: 5_000 });
    release();
    await closing;
    expect(used).toEqual(['lock', '1 vector', 'queues']);
    const state = await withAdmin(server, async (c) => c.hget(`lota:{memory-extraction}:memory-extraction:${jobId}`, 'finishedOn'));
    expect(state).not.toBeNull(); // completed, not failed into a retry
    expect(bull).toBeDefined();
  });

  it('a producer-only process starts no worker', async () => {
    const r = await runtime();
    await r.connect();
    expect((await r.health()).workers).toEqual([]);
    expect((await r.queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't' })).status).toBe('added');
  });

  it('everything goes through the one connection manager: CLIENT LIST shows only its clients', async () => {
    const before = await names();
    const provider = localProvider();
    const r = await runtime({
      aiGateway: { embeddingProvider: provider },
      workers: { 'memory-extraction': { processor: async () => undefined } },
      extraWorkers: [{ queue: 'custom-queue', concurrency: 1, processor: async () => undefined }],
    });
    await r.connect();
    // Exercise every part: queues + workers, locks (with contention: pub/sub), embeddings.
    await r.queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't' });
    // Another process holds the lock for 200 ms: this one waits on the release channel (pub/sub).
    await withAdmin(server, (c) => c.set('lota:lock:{org:acme}:owner', 'another-process', 'PX', 200));
    await Promise.all([1, 2, 3].map(() => r.locks.withOrgMemoryLock('acme', async () => new Promise((res) => setTimeout(res, 20)))));
    await r.embeddings.embed(['a', 'b']);
    await r.embeddings.embed(['a']);
    const after = (await names()).filter((n) => !before.includes(n) || n === '');
    const h = await r.health();
    // 2 shared clients + 2 worker blocking connections + 1 lock subscriber, all owned by the manager.
    expect(h.redis.connections).toBe(5);
    expect(after).toHaveLength(5);
    expect(after.every((n) => n.startsWith('lota:') || n.startsWith('bull:'))).toBe(true);
    expect(provider.calls).toBe(1);
    expect(h.cache).toMatchObject({ hits: 1, misses: 2 });
    await r.disconnect();
    await waitFor(async () => (await names()).length === before.length, { description: 'CLIENT LIST back to baseline' });
  });

  it('locks: org and workspace locks, through a host adapter when one is configured', async () => {
    const scopes: string[] = [];
    const adapter: LockAdapter = {
      withLock: async (scope, fn) => {
        scopes.push(scope);
        return fn({ scope, fencingToken: 1, signal: new AbortController().signal });
      },
    };
    const r = await runtime({ memoryLock: { adapter } });
    await r.connect();
    await r.locks.withOrgMemoryLock('acme', async () => undefined);
    await r.locks.withWorkspaceMemoryLock('ws1', async () => undefined);
    expect(scopes).toEqual(['org:acme', 'workspace:ws1']);

    const real = await runtime({ memoryLock: { ttlMs: 5_000 } });
    await real.connect();
    const tokens: number[] = [];
    await Promise.all([1, 2, 3].map(() => real.locks.withOrgMemoryLock('acme', async (ctx) => void tokens.push(ctx.fencingToken))));
    // Fencing tokens strictly increase per scope (their base is @lota/org-lock's business).
    expect(tokens).toHaveLength(3);
    expect(tokens.every((t, i) => Number.isSafeInteger(t) && (i === 0 || t > tokens[i - 1]!))).toBe(true);
  });

  it('embeddings without a provider say what to configure', async () => {
    const r = await runtime();
    await r.connect();
    await expect(r.embeddings.embed(['x'])).rejects.toBeInstanceOf(NotConfiguredError);
    expect(r.embeddingCache.stats().misses).toBe(0);
  });

  it('a separate cache Redis (aiGateway.embeddingCacheRedis) holds the vectors; LRU there is not warned about', async () => {
    await using cacheServer = await startRedis({ maxmemory: '16mb', maxmemoryPolicy: 'allkeys-lru' });
    const logger = recordingLogger();
    const r = await runtime({ logger, aiGateway: { embeddingProvider: localProvider(), embeddingCacheRedis: { url: cacheServer.url } } });
    await r.connect();
    await r.embeddings.embed(['x', 'y']);
    await waitFor(async () => (await withAdmin(cacheServer, (c) => c.dbsize())) === 2, { description: 'vectors in the cache Redis' });
    expect(await withAdmin(server, (c) => c.keys('*emb*'))).toEqual([]);
    expect(logger.lines.filter((l) => l.level === 'warn' && /maxmemory-policy/.test(l.message))).toEqual([]);
    expect((await r.health()).cacheRedis?.evictionPolicy).toBe('allkeys-lru');
    await r.disconnect();
  });
});
