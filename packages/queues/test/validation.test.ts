import { startRedis, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQueues,
  InvalidArgumentError,
  JobValidationError,
  LotaError,
  QueuesClosedError,
  ConfigError,
  resolveWorkerOptions,
  type JobPayload,
  type LotaQueues,
} from '../src/index.js';

let server: RedisServer;
let connection: Redis;
let queues: LotaQueues;

beforeAll(async () => {
  server = await startRedis();
  connection = new Redis(server.url, { maxRetriesPerRequest: null });
  queues = createQueues({ connection, prefix: 'validation', logger: recordingLogger(), maxPayloadBytes: 1_024 });
});
afterAll(async () => {
  await queues.close();
  connection.disconnect();
  await server.dispose();
});

async function keyCount(): Promise<number> {
  return (await connection.keys('validation:*')).length;
}

describe('bad input is refused at the call site, before Redis', () => {
  const cyclic: Record<string, unknown> = { orgId: 'o' };
  cyclic.self = cyclic;
  const sparse: number[] = [1];
  sparse[2] = 3;
  const cases: Array<[string, () => Promise<unknown>, string, RegExp]> = [
    ['missing orgId', () => queues.enqueue('memory-extraction', { workstreamId: 'w' } as unknown as JobPayload), 'data.orgId', /is missing/],
    ['empty orgId', () => queues.enqueueMemoryExtraction({ orgId: ' ', workstreamId: 'w', turnId: 't' }), 'data.orgId', /non-empty string/],
    ['numeric orgId', () => queues.enqueueContextCompaction({ orgId: 42 as unknown as string, workstreamId: 'w' }), 'data.orgId', /non-empty string/],
    ['missing turnId', () => queues.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w' } as never), 'data.turnId', /is missing/],
    ['missing repoId', () => queues.enqueueRepoIndexing({ orgId: 'o' } as never), 'data.repoId', /is missing/],
    ['a BigInt', () => queues.enqueue('memory-extraction', { orgId: 'o', n: 1n }), 'data.n', /BigInt/],
    ['a function', () => queues.enqueue('memory-extraction', { orgId: 'o', f: () => 1 }), 'data.f', /function/],
    ['NaN', () => queues.enqueue('memory-extraction', { orgId: 'o', deep: { x: [1, Number.NaN] } }), 'data.deep.x[1]', /NaN/],
    ['a Map', () => queues.enqueue('memory-extraction', { orgId: 'o', m: new Map() }), 'data.m', /Map.*plain objects/],
    ['a cycle', () => queues.enqueue('memory-extraction', cyclic as JobPayload), 'data.self', /cycle/],
    ['undefined in an array', () => queues.enqueue('memory-extraction', { orgId: 'o', a: [undefined] }), 'data.a[0]', /undefined/],
    ['an oversized payload', () => queues.enqueue('memory-extraction', { orgId: 'o', text: 'x'.repeat(2_000) }), 'data', /over the 1024-byte limit \(maxPayloadBytes\)/],
    // 22: inputs that used to throw a raw TypeError or to pass and arrive altered.
    ['null data to a helper', () => queues.enqueueMemoryExtraction(null as never), 'data', /must be an object with an orgId, got null/],
    ['undefined data to a helper', () => queues.scheduleMemoryDigest(undefined as never), 'data', /must be an object with an orgId, got undefined/],
    ['null data to repo indexing', () => queues.enqueueRepoIndexing(null as never), 'data', /must be an object/],
    ['null data to enqueue', () => queues.enqueue('memory-extraction', null as never), 'data', /must be an object/],
    ['a hole in a sparse array', () => queues.enqueue('memory-extraction', { orgId: 'o', a: sparse }), 'data.a[1]', /hole in a sparse array/],
    ['an invalid Date', () => queues.enqueue('memory-extraction', { orgId: 'o', at: new Date(Number.NaN) }), 'data.at', /invalid Date/],
    ['a symbol key', () => queues.enqueue('memory-extraction', { orgId: 'o', deep: { [Symbol('k')]: 1 } }), 'data.deep[Symbol(k)]', /symbol key, which JSON drops/],
    ['a property on an array', () => queues.enqueue('memory-extraction', { orgId: 'o', a: Object.assign([1], { extra: 2 }) }), 'data.a.extra', /property on an array/],
  ];
  for (const [what, call, field, message] of cases) {
    it(`${what}: JobValidationError (JOB_INVALID) naming ${field}; nothing written`, async () => {
      const before = await keyCount();
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JobValidationError);
      expect(err).toBeInstanceOf(LotaError);
      expect((err as JobValidationError).code).toBe('JOB_INVALID');
      expect((err as JobValidationError).field).toBe(field);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain('Nothing was enqueued');
      expect(await keyCount()).toBe(before);
    });
  }

  it('an unknown queue is INVALID_ARGUMENT listing the known ones and how to declare a host queue', async () => {
    const err = (await queues.enqueue('memory-extration', { orgId: 'o' }).catch((e: unknown) => e)) as InvalidArgumentError;
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/unknown queue 'memory-extration'.*memory-extraction, context-compaction, repo-indexing, memory-digest/);
    expect(err.message).toMatch(/policies: \{ 'memory-extration': \{\} \}/);
    expect(() => queues.registerWorker({ queue: 'nope', processor: async () => undefined })).toThrow(InvalidArgumentError);
    expect(() => queues.getQueue('nope')).toThrow(/unknown queue/);
  });

  it('bad enqueue options and worker arguments are INVALID_ARGUMENT', async () => {
    await expect(queues.enqueue('memory-extraction', { orgId: 'o' }, { debounceMs: 10 })).rejects.toThrow(/debounceMs needs a dedupeKey/);
    await expect(queues.enqueue('memory-extraction', { orgId: 'o' }, { dedupeKey: [] })).rejects.toThrow(/dedupeKey must be/);
    await expect(queues.enqueue('memory-extraction', { orgId: 'o' }, { delayMs: -1 })).rejects.toThrow(/delayMs/);
    await expect(queues.enqueue('memory-extraction', { orgId: 'o' }, { jobId: '123' })).rejects.toThrow(/jobId/);
    // 22: delayMs was silently ignored next to debounceMs; null options and bulk items threw raw TypeErrors.
    const before = await keyCount();
    for (const call of [
      () => queues.enqueue('memory-digest', { orgId: 'o' }, { dedupeKey: 'k', debounceMs: 100, delayMs: 5_000 }),
      () => queues.enqueue('memory-extraction', { orgId: 'o' }, null as never),
      () => queues.enqueueBulk('memory-extraction', [null as never]),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
    }
    await expect(queues.enqueue('memory-digest', { orgId: 'o' }, { dedupeKey: 'k', debounceMs: 100, delayMs: 5_000 })).rejects.toThrow(/delayMs or debounceMs, not both/);
    expect(await keyCount()).toBe(before);
    expect(() => queues.registerWorker({ queue: 'memory-extraction', concurrency: 0, processor: async () => undefined })).toThrow(/concurrency must be a whole number from 1 to 10000, got 0/);
    // One rule for a worker's concurrency, whether it comes from a policy or from registerWorker.
    expect(() => queues.registerWorker({ queue: 'memory-extraction', concurrency: 50_000, processor: async () => undefined })).toThrow(/concurrency must be a whole number from 1 to 10000, got 50000/);
    expect(() => queues.registerWorker({ queue: 'memory-extraction', processor: async () => undefined, concurency: 2 } as never)).toThrow(/concurency unknown option/);
    expect(resolveWorkerOptions({ queue: 'a b', processor: 1, concurrency: 1.5, workerOptions: [] }, 'workers.0')).toEqual({
      ok: false,
      issues: [
        { path: 'workers.0.queue', message: expect.stringMatching(/queue names are/) as unknown },
        { path: 'workers.0.processor', message: 'must be a function (the job processor)' },
        { path: 'workers.0.concurrency', message: 'must be a whole number from 1 to 10000, got 1.5' },
        { path: 'workers.0.workerOptions', message: 'must be an object of BullMQ worker options' },
      ],
    });
  });

  it('a host queue declared through policies accepts jobs and gets the default policy', async () => {
    const q = createQueues({ connection, prefix: 'validation', policies: { 'custom-queue': { maxRetries: 1 } }, logger: recordingLogger() });
    const r = await q.enqueue('custom-queue', { orgId: 'o' });
    expect(r.status).toBe('added');
    const job = await q.getQueue('custom-queue').getJob(r.jobId);
    expect(job?.opts.attempts).toBe(2);
    // maxStalledCount follows maxRetries unless set.
    expect(q.policy('custom-queue')).toEqual({ maxRetries: 1, backoffDelayMs: 1_000, concurrency: 1, debounceMs: 0, maxWaitMs: 0, lockDurationMs: 30_000, maxStalledCount: 1, waitForReplicas: 0, waitForReplicasTimeoutMs: 1_000 });
    await q.close();
  });
});

describe('createQueues options', () => {
  it('refuses a client with maxRetriesPerRequest set, or with an ioredis keyPrefix, saying what to use', () => {
    const general = new Redis(server.url, { lazyConnect: true });
    const prefixed = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null, keyPrefix: 'x:' });
    expect(() => createQueues({ connection: general })).toThrow(/maxRetriesPerRequest: null/);
    expect(() => createQueues({ connection: prefixed })).toThrow(/keyPrefix/);
    general.disconnect();
    prefixed.disconnect();
  });

  it('lists every bad option by path', () => {
    let err: ConfigError | undefined;
    try {
      createQueues({ connection, prefix: '{x}', policies: { 'memory-extraction': { maxRetries: -1, retries: 2 } as never, 'bad:name': {} }, tmeout: 1 } as never);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.code).toBe('CONFIG_INVALID');
    expect(err!.message).toMatch(/prefix: must be a non-empty string without spaces or braces/);
    expect(err!.message).toMatch(/policies\.memory-extraction\.maxRetries: must be >= 0/);
    expect(err!.message).toMatch(/policies\.memory-extraction\.retries: unknown option/);
    expect(err!.message).toMatch(/policies\.bad:name.*queue names are 1 to 100 letters/);
    expect(err!.message).toMatch(/tmeout: unknown option/);
    expect(() => createQueues({ connection: 'redis://x' } as never)).toThrow(/connection: must be an ioredis Redis or Cluster instance/);
  });

  it('after close(), every call is QUEUES_CLOSED', async () => {
    const q = createQueues({ connection, prefix: 'validation', logger: recordingLogger() });
    await q.close();
    await q.close();
    await expect(q.enqueue('memory-extraction', { orgId: 'o' })).rejects.toBeInstanceOf(QueuesClosedError);
    expect(() => q.registerWorker({ queue: 'memory-extraction', processor: async () => undefined })).toThrow(/after close\(\)/);
  });
});
