/**
 * Durable enqueue (`waitForReplicas`): against a real primary and replica (two servers joined
 * with REPLICAOF), a replica paused with SIGSTOP, a server without replicas, and a Redis Cluster
 * with one replica per master. Each test fails if its part of the feature is removed (see the
 * comment above each).
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseInfo, runNodeScript, startCluster, startRedis, waitFor, withAdmin, type RedisClusterTopology, type RedisServer } from '@lota/redis-testkit';
import { recordingLogger } from '@lota/redis-testkit/vitest';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createQueues,
  EnqueueNotReplicatedError,
  InvalidArgumentError,
  ConfigError,
  queuePrefix,
  type CreateQueuesOptions,
  type EnqueueResult,
  type LotaQueues,
} from '../src/index.js';
import { caps } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Node = { host: string; port: number };
const info = async (node: Node, section: string): Promise<Record<string, string>> => parseInfo(await withAdmin(node, (c) => c.info(section)));
/** Calls of WAIT this server has run so far. */
const waitCalls = async (node: Node): Promise<number> => Number(/calls=(\d+)/.exec((await info(node, 'commandstats')).cmdstat_wait ?? '')?.[1] ?? 0);
const exists = (node: Node, key: string): Promise<number> => withAdmin(node, (c) => c.exists(key));
/** EXISTS on a Cluster replica: READONLY first, or it answers MOVED. */
const existsOnClusterReplica = (node: Node, key: string): Promise<number> =>
  withAdmin(node, async (c) => {
    await c.call('READONLY');
    return c.exists(key);
  });

/** Makes `replica` a replica of `primary` and waits until the primary counts it online. */
async function attach(primary: Node, replica: Node): Promise<void> {
  await withAdmin(replica, (c) => c.call('REPLICAOF', primary.host, String(primary.port)));
  await waitFor(async () => (await info(replica, 'replication')).master_link_status === 'up' && /state=online/.test((await info(primary, 'replication')).slave0 ?? ''), {
    timeoutMs: 15_000,
    description: 'the replica to be online',
  });
}

/** A LotaQueues on its own prefix, closed after the test; `key(queue, jobId)` is a job's hash key. */
function open(connection: Redis | Cluster, opts: Partial<CreateQueuesOptions>): LotaQueues & { key(queue: string, jobId: string): string } {
  const prefix = `d${randomUUID().slice(0, 8)}`;
  const queues = createQueues({ connection, prefix, logger: recordingLogger(), ...opts });
  cleanups.push(() => queues.close({ timeoutMs: 2_000 }));
  return Object.assign(queues, { key: (queue: string, jobId: string) => `${queuePrefix(prefix, queue)}:${queue}:${jobId}` });
}

async function rejection(p: Promise<unknown>): Promise<EnqueueNotReplicatedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the enqueue should have been refused').toBeInstanceOf(EnqueueNotReplicatedError);
  return err as EnqueueNotReplicatedError;
}

describe.skipIf(!caps.control)('durable enqueue: primary and replica', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let connection: Redis;
  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis();
    await attach(primary, replica);
    connection = new Redis(primary.url, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    await waitFor(() => connection.status === 'ready');
  }, 60_000);
  afterEach(async () => {
    if (replica.paused) await replica.resume();
  });
  afterAll(async () => {
    connection.disconnect();
    await replica.dispose();
    await primary.dispose();
  });

  // Removing the feature: no `replicas` in the result, and nothing guarantees the replica already has the job.
  it('with the replica up, the enqueue resolves once WAIT confirmed it: replicas 1, and the replica already has the job', async () => {
    const q = open(connection, { policies: { 'memory-extraction': { waitForReplicas: 1 } } });
    const before = await waitCalls(primary);
    for (let i = 0; i < 20; i++) {
      const r = await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: `t${i}` });
      expect(r).toEqual({ jobId: r.jobId, status: 'added', replicas: 1 });
      // Read from the replica right away: WAIT returned, so it has this write.
      expect(await exists(replica, q.key('memory-extraction', r.jobId))).toBe(1);
    }
    expect(await waitCalls(primary)).toBeGreaterThanOrEqual(before + 20);
    // A queue without the option sends no WAIT.
    const plain = await q.enqueueContextCompaction({ orgId: 'o', workstreamId: 'w' });
    expect(plain.replicas).toBeUndefined();
  });

  // Removing the feature: the enqueue resolves although no replica has the job.
  it('with the replica paused (SIGSTOP): ENQUEUE_NOT_REPLICATED within the WAIT timeout, the job is on the primary, and a retry with its jobId is safe', async () => {
    const q = open(connection, { enqueueTimeoutMs: 3_000, policies: { host: { waitForReplicas: 1, waitForReplicasTimeoutMs: 300 } } });
    await replica.pause();
    const started = performance.now();
    const err = await rejection(q.enqueue('host', { orgId: 'o', n: 1 }, { jobId: 'job-1' }));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280); // the WAIT waited its timeout...
    expect(elapsed).toBeLessThan(2_000); // ...and the call did not run into enqueueTimeoutMs
    expect(err.code).toBe('ENQUEUE_NOT_REPLICATED');
    expect(err.jobId).toBe('job-1');
    expect(err.results).toEqual([{ jobId: 'job-1', status: 'added' }]);
    expect([err.replicasRequired, err.replicasAcknowledged]).toEqual([1, 0]);
    expect(err.message).toMatch(/@lota\/queues: job 'job-1' \(status 'added'\) WAS enqueued to 'host' on the Redis master, but only 0 of the 1 replica\(s\)/);
    expect(err.message).toContain('within 300 ms (waitForReplicasTimeoutMs)');
    expect(err.message).toMatch(/Retrying with jobId 'job-1' \(or the same dedupe key\) is safe/);
    expect(await exists(primary, q.key('host', 'job-1'))).toBe(1);

    await replica.resume();
    const retry = await q.enqueue('host', { orgId: 'o', n: 1 }, { jobId: 'job-1' });
    expect(retry).toEqual({ jobId: 'job-1', status: 'deduplicated', replicas: 1 });
    expect(await exists(replica, q.key('host', 'job-1'))).toBe(1);
    expect(await q.getQueue('host').count()).toBe(1);
  });

  // Removing the group commit: every WAIT blocks the connection in turn (20 x 400 ms), so most calls
  // run into enqueueTimeoutMs (ENQUEUE_TIMEOUT, "may or may not") instead of a clear answer.
  it('group commit: 20 concurrent enqueues with the replica paused all get ENQUEUE_NOT_REPLICATED within about two WAIT timeouts', async () => {
    const q = open(connection, { enqueueTimeoutMs: 4_000, policies: { host: { waitForReplicas: 1, waitForReplicasTimeoutMs: 400 } } });
    await q.enqueue('host', { orgId: 'o' }); // opens the durable connection
    await replica.pause();
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        q.enqueue('host', { orgId: 'o', i }).then(
          () => ({ code: 'resolved', ms: performance.now() - started, jobId: '' }),
          (e: unknown) => ({ code: (e as EnqueueNotReplicatedError).code, ms: performance.now() - started, jobId: (e as EnqueueNotReplicatedError).jobId }),
        ),
      ),
    );
    expect(outcomes.map((o) => o.code)).toEqual(Array.from({ length: 20 }, () => 'ENQUEUE_NOT_REPLICATED'));
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(2_500);
    for (const o of outcomes) expect(await exists(primary, q.key('host', o.jobId))).toBe(1);
  });

  // Removing the group commit: one WAIT per enqueue (50).
  it('group commit: 50 concurrent enqueues with the replica up all resolve with replicas 1, with far fewer WAITs than calls', async () => {
    const q = open(connection, { policies: { host: { waitForReplicas: 1 } } });
    await q.enqueue('host', { orgId: 'o' });
    const before = await waitCalls(primary);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => q.enqueue('host', { orgId: 'o', i })));
    expect(results.every((r) => r.status === 'added' && r.replicas === 1)).toBe(true);
    expect(new Set(results.map((r) => r.jobId)).size).toBe(50);
    const waits = (await waitCalls(primary)) - before;
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThanOrEqual(25);
  });

  // Sending the WAIT on the shared client: the plain enqueue below waits behind it for ~1.5 s.
  it('a WAIT in flight does not hold up the shared connection: other enqueues and workers keep going', async () => {
    const q = open(connection, { enqueueTimeoutMs: 3_000, policies: { host: { waitForReplicas: 1, waitForReplicasTimeoutMs: 1_500 } } });
    await q.enqueue('host', { orgId: 'o' });
    const done: string[] = [];
    q.registerWorker({ queue: 'memory-extraction', processor: async (job) => void done.push(job.id ?? '?') });
    await replica.pause();
    let settled = false;
    const durable = rejection(q.enqueue('host', { orgId: 'o', slow: true })).finally(() => (settled = true));
    await waitFor(async () => (await withAdmin(primary, (c) => c.client('LIST') as Promise<string>)).includes('cmd=wait'), { description: 'the WAIT to block' });
    const started = performance.now();
    const plain = await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 'meanwhile' });
    expect(performance.now() - started).toBeLessThan(500);
    await waitFor(() => done.includes(plain.jobId), { timeoutMs: 1_000, description: 'the worker to run a job meanwhile' });
    expect(settled).toBe(false);
    expect((await durable).code).toBe('ENQUEUE_NOT_REPLICATED');
  });

  // Removing the per-call option: the call resolves without a WAIT (no `replicas`).
  it('per call: waitForReplicas on enqueue and enqueueBulk; 0 turns a durable policy off for one call', async () => {
    const q = open(connection, { policies: { host: { waitForReplicas: 1 }, other: {} } });
    expect((await q.enqueue('other', { orgId: 'o' }, { waitForReplicas: 1 })).replicas).toBe(1);
    expect((await q.enqueue('host', { orgId: 'o' }, { waitForReplicas: 0 })).replicas).toBeUndefined();
    const bulk = await q.enqueueBulk('other', [{ data: { orgId: 'o', i: 1 } }, { data: { orgId: 'o', i: 2 }, opts: { jobId: 'b-2' } }], { waitForReplicas: 1 });
    expect(bulk.map((r) => r.replicas)).toEqual([1, 1]);
    expect(bulk[1]).toEqual({ jobId: 'b-2', status: 'added', replicas: 1 });
    for (const r of bulk) expect(await exists(replica, q.key('other', r.jobId))).toBe(1);
  });

  // Removing the feature from latest-wins calls: the digest's 'replaced' would not be confirmed.
  it('latest-wins calls (debounce, repo indexing) are confirmed too, with their usual statuses', async () => {
    const q = open(connection, { policies: { 'memory-digest': { waitForReplicas: 1, debounceMs: 60_000 }, 'repo-indexing': { waitForReplicas: 1 } } });
    const a = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', v: 1 });
    const b = await q.scheduleMemoryDigest({ orgId: 'o', workstreamId: 'w', v: 2 });
    expect([a.status, a.replicas, b.status, b.replicas]).toEqual(['added', 1, 'replaced', 1]);
    const c = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r' });
    const d = await q.enqueueRepoIndexing({ orgId: 'o', repoId: 'r', v: 2 });
    expect([c.status, d.status, d.jobId, d.replicas]).toEqual(['added', 'replaced', c.jobId, 1]);
    const data = await withAdmin(replica, (r) => r.hget(q.key('repo-indexing', c.jobId), 'data'));
    expect(JSON.parse(data ?? '{}')).toMatchObject({ v: 2 });
  });
});

describe.skipIf(!caps.control)('durable enqueue: no replica, and validation', () => {
  let server: RedisServer;
  let connection: Redis;
  beforeAll(async () => {
    server = await startRedis();
    connection = new Redis(server.url, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    await waitFor(() => connection.status === 'ready');
  });
  afterAll(async () => {
    connection.disconnect();
    await server.dispose();
  });

  // Removing the feature: these resolve.
  it('with no replica at all, waitForReplicas 1 is ENQUEUE_NOT_REPLICATED, for one job and for a bulk batch; the jobs exist', async () => {
    const q = open(connection, { policies: { host: { waitForReplicas: 1, waitForReplicasTimeoutMs: 100 } } });
    const one = await rejection(q.enqueue('host', { orgId: 'o' }));
    expect(one.results).toHaveLength(1);
    expect(await q.getQueue('host').getJob(one.jobId)).toBeDefined();
    const bulk = await rejection(q.enqueueBulk('host', [{ data: { orgId: 'o', i: 1 } }, { data: { orgId: 'o', i: 2 } }, { data: { orgId: 'o', i: 3 } }]));
    expect(bulk.results.map((r: EnqueueResult) => r.status)).toEqual(['added', 'added', 'added']);
    expect(bulk.message).toMatch(/3 jobs \(first '[^']+'\) WAS enqueued/);
    expect(await q.getQueue('host').count()).toBe(4);
    // The helpers follow the policy too.
    const h = open(connection, { policies: { 'memory-extraction': { waitForReplicas: 1, waitForReplicasTimeoutMs: 100 } } });
    expect((await rejection(h.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't' }))).code).toBe('ENQUEUE_NOT_REPLICATED');
  });

  it('policy and call options are validated: the WAIT timeout stays under enqueueTimeoutMs and is never 0', async () => {
    const bad: Array<[Partial<CreateQueuesOptions>, RegExp]> = [
      [{ policies: { q: { waitForReplicas: 1, waitForReplicasTimeoutMs: 5_000 } } }, /policies\.q\.waitForReplicasTimeoutMs: must be lower than enqueueTimeoutMs \(5000 ms\)/],
      [{ enqueueTimeoutMs: 800, policies: { q: { waitForReplicas: 1 } } }, /policies\.q\.waitForReplicasTimeoutMs: must be lower than enqueueTimeoutMs \(800 ms\).*\(default 1000\)/],
      [{ policies: { q: { waitForReplicasTimeoutMs: 0 } } }, /policies\.q\.waitForReplicasTimeoutMs: must be >= 1/],
      [{ policies: { q: { waitForReplicas: -1 } } }, /policies\.q\.waitForReplicas: must be >= 0/],
      [{ policies: { q: { waitForReplicas: 1.5 } } }, /policies\.q\.waitForReplicas: must be a whole number/],
    ];
    for (const [opts, message] of bad) {
      expect(() => createQueues({ connection, ...opts })).toThrow(ConfigError);
      expect(() => createQueues({ connection, ...opts })).toThrow(message);
    }
    // A short enqueueTimeoutMs is fine while nothing waits for replicas.
    expect(() => createQueues({ connection, enqueueTimeoutMs: 500, logger: recordingLogger() })).not.toThrow();
    const q = open(connection, { policies: { q: {} } });
    await expect(q.enqueue('q', { orgId: 'o' }, { waitForReplicas: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(q.enqueue('q', { orgId: 'o' }, { waitForReplicas: 'one' as never })).rejects.toThrow(/waitForReplicas must be a whole number >= 0/);
    await expect(q.enqueueBulk('q', [{ data: { orgId: 'o' }, opts: { waitForReplicas: 1 } as never }])).rejects.toThrow(/applies to the whole batch/);
    expect(await q.getQueue('q').count()).toBe(0);
  });

  // Without close() disconnecting the durable connection, its socket keeps the child alive.
  it('close() closes the durable connection: a process whose Redis is paused exits by itself once closed', { timeout: 30_000 }, async () => {
    await using own = await startRedis();
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      import { Redis } from 'ioredis';
      import { createQueues } from ${JSON.stringify(entry)};
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const connection = new Redis(process.argv[1], { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      const q = createQueues({ connection, prefix: 'child', logger: quiet, policies: { host: { waitForReplicas: 1, waitForReplicasTimeoutMs: 50 } } });
      const err = await q.enqueue('host', { orgId: 'o' }).catch((e) => e);
      process.stdout.write('enqueue ' + err.code + '\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      process.stdin.destroy();
      const started = performance.now();
      await q.close({ timeoutMs: 1000 });
      connection.disconnect();
      process.stdout.write('closed in ' + Math.round(performance.now() - started) + ' ms\\n');
    `;
    const child = runNodeScript(script, [own.url]);
    await waitFor(() => child.output().includes('enqueue'), { description: 'the child to enqueue' });
    expect(child.output()).toContain('enqueue ENQUEUE_NOT_REPLICATED');
    await own.pause();
    child.send('close');
    expect(await child.exitWithin(8_000)).toBe(0);
    const closedIn = Number(/closed in (\d+) ms/.exec(child.output())?.[1]);
    expect(closedIn).toBeLessThanOrEqual(1_100);
    await own.resume();
  });

  // A call's WAIT is shortened to fit its enqueueTimeoutMs: the answer is still a clear one.
  it('a per-call waitForReplicas on a short enqueueTimeoutMs gets a WAIT that fits in it', async () => {
    const q = open(connection, { enqueueTimeoutMs: 400, policies: { q: {} } }); // policy WAIT timeout: 1 000 ms
    const started = performance.now();
    // ENQUEUE_NOT_REPLICATED, not the ENQUEUE_TIMEOUT a 1 000 ms WAIT would have run into.
    const err = await rejection(q.enqueue('q', { orgId: 'o' }, { waitForReplicas: 1 }));
    expect(performance.now() - started).toBeLessThan(1_000);
    const waitedMs = Number(/within (\d+) ms/.exec(err.message)?.[1]);
    expect(waitedMs).toBeGreaterThan(0);
    expect(waitedMs).toBeLessThan(400);
  });
});

describe.skipIf(!caps.topologies)('durable enqueue: Redis Cluster, one replica per master', () => {
  let cluster: RedisClusterTopology;
  let connection: Cluster;
  const addr = (key: string): Node => ({ host: '127.0.0.1', port: Number(key.split(':')[1]) });
  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicasPerMaster: 1 });
    connection = new Cluster(cluster.startupNodes.map(addr), { redisOptions: { maxRetriesPerRequest: null } });
    connection.on('error', () => undefined);
    await waitFor(() => connection.status === 'ready');
    // Every replica online, so a WAIT on any master can be answered.
    const masters = await cluster.masters();
    for (const m of masters) await waitFor(async () => /state=online/.test((await info(m, 'replication')).slave0 ?? ''), { timeoutMs: 20_000, description: `a replica of ${m.port}` });
  }, 90_000);
  afterAll(async () => {
    connection.disconnect();
    await cluster.dispose();
  });
  const ownerOf = async (slot: number): Promise<{ master: Node; masterId: string; replica: RedisServer }> => {
    const slots = (await withAdmin(cluster.nodes[0]!, (c) => c.call('CLUSTER', 'SLOTS'))) as Array<[number, number, [string, number, string]]>;
    const port = slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
    const view = await cluster.topology();
    const masterId = view.find((n) => n.port === port)!.id;
    const replicaPort = view.find((n) => n.role === 'replica' && n.masterId === masterId)!.port;
    return { master: { host: '127.0.0.1', port }, masterId, replica: cluster.nodes.find((n) => n.port === replicaPort)! };
  };

  // Sending the WAIT to any other node: that connection's own writes are replicated (or it has
  // none, and WAIT answers at once), so the call would succeed with the queue's replica paused.
  it("WAIT runs on the node that owns the queue's slot: 1 replica confirmed; with only that replica paused, ENQUEUE_NOT_REPLICATED", async () => {
    const q = open(connection, { enqueueTimeoutMs: 3_000, policies: { 'memory-extraction': { waitForReplicas: 1, waitForReplicasTimeoutMs: 300 }, 'context-compaction': { waitForReplicas: 1 } } });
    const slot = calculateSlot(`${queuePrefix('x', 'memory-extraction')}:id`);
    const owner = await ownerOf(slot);
    // Other queues on other masters: the durable connection has written to their nodes too.
    await q.enqueueContextCompaction({ orgId: 'o', workstreamId: 'w' });
    const ok = await q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't1' });
    expect(ok).toMatchObject({ status: 'added', replicas: 1 });
    expect(await existsOnClusterReplica(owner.replica, q.key('memory-extraction', ok.jobId))).toBe(1);

    await owner.replica.pause();
    cleanups.push(async () => owner.replica.paused && owner.replica.resume());
    const err = await rejection(q.enqueueMemoryExtraction({ orgId: 'o', workstreamId: 'w', turnId: 't2' }));
    expect(err.replicasAcknowledged).toBe(0);
    expect(await q.getQueue('memory-extraction').getJob(err.jobId)).toBeDefined();
    // The other masters' replicas are fine: their queue still confirms.
    expect((await q.enqueueContextCompaction({ orgId: 'o', workstreamId: 'w2' })).replicas).toBe(1);
    await owner.replica.resume();
  });

  // Without the re-send after MOVED: ioredis does not retry a pipeline in which WAIT succeeded,
  // and the call fails with REDIS_UNREACHABLE (MOVED).
  it("after the queue's slot moved to another master (MOVED), a durable enqueue follows it and WAITs there", async () => {
    const q = open(connection, { policies: { 'moved-queue': { waitForReplicas: 1 }, 'warm-queue': { waitForReplicas: 1 } } });
    await q.enqueue('warm-queue', { orgId: 'o' }); // the durable connection now has a slot map
    const slot = calculateSlot(`${queuePrefix('x', 'moved-queue')}:id`);
    const from = await ownerOf(slot);
    const view = await cluster.topology();
    const to = view.find((n) => n.role === 'master' && n.id !== from.masterId)!;
    const masters = view.filter((n) => n.role === 'master');
    // Reshard the (empty) slot: the new owner first, then everyone else.
    for (const m of [to, ...masters.filter((n) => n.id !== to.id)]) {
      await withAdmin({ host: '127.0.0.1', port: m.port }, (c) => c.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id));
    }
    // A new config epoch for the new owner, so its claim wins on the nodes not told (the replicas).
    await withAdmin({ host: '127.0.0.1', port: to.port }, (c) => c.call('CLUSTER', 'BUMPEPOCH'));
    const ownerSeenBy = (n: Node): Promise<number> =>
      withAdmin(n, async (c) => {
        const slots = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
        return slots.find(([lo, hi]) => slot >= lo && slot <= hi)?.[2][1] ?? 0;
      });
    await waitFor(async () => (await Promise.all(cluster.nodes.map(ownerSeenBy))).every((p) => p === to.port), { description: 'every node to see the slot moved' });
    const r = await q.enqueue('moved-queue', { orgId: 'o' });
    expect(r).toMatchObject({ status: 'added', replicas: 1 });
    const key = q.key('moved-queue', r.jobId);
    expect(await exists({ host: '127.0.0.1', port: to.port }, key)).toBe(1);
    const newOwner = await ownerOf(slot);
    expect(await existsOnClusterReplica(newOwner.replica, key)).toBe(1);
  });
});
