/**
 * Fails loudly when BullMQ's key layout stops matching src/bullmq-keys.ts. Everything here goes
 * through BullMQ's own API (Queue, Worker, manual fetch); only the reads use this package's key
 * builders. If a check fails after a BullMQ upgrade, fix bullmq-keys.ts (and its script) for
 * the new layout before widening BULLMQ_TESTED_RANGE and the peer range.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startRedis, waitFor, type RedisServer } from '@lota/redis-testkit';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULLMQ_TESTED_RANGE, dedupeKey, dedupeNextKey, jobKey, jobLockKey } from '../src/bullmq-keys.js';
import { queuePrefix } from '../src/hash-tag.js';

const LAYOUT = 'BullMQ key layout changed (see src/bullmq-keys.ts)';

function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) throw new Error(`not a version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
function compare(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

let server: RedisServer;
let connection: Redis;
let queue: Queue;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  connection = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await queue?.close();
  connection.disconnect();
  await server.dispose();
});

function freshQueue(): Queue {
  const name = 'layout';
  queue = new Queue(name, { connection, prefix: queuePrefix(`layout${++n}`, name) });
  return queue;
}

describe('BullMQ layout assumptions (src/bullmq-keys.ts)', () => {
  it('the installed BullMQ is inside the tested range, and the peer range is exactly that range', () => {
    const require = createRequire(import.meta.url);
    const installed = (require('bullmq/package.json') as { version: string }).version;
    const [, low, high] = /^>=(\S+) <(\S+)$/.exec(BULLMQ_TESTED_RANGE) ?? [];
    expect(low && high, 'BULLMQ_TESTED_RANGE must read ">=a.b.c <x.y.z"').toBeTruthy();
    expect(compare(parseVersion(installed), parseVersion(low!)) >= 0 && compare(parseVersion(installed), parseVersion(high!)) < 0, `bullmq ${installed} is outside ${BULLMQ_TESTED_RANGE}: run this file against it, then widen the range`).toBe(true);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { peerDependencies: Record<string, string> };
    expect(pkg.peerDependencies.bullmq).toBe(BULLMQ_TESTED_RANGE);
  });

  it('job hash (data, progress), dedupe key, wait list, delayed and prioritized sets', async () => {
    const q = freshQueue();
    const waiting = await q.add('x', { v: 1 }, { jobId: 'w1', deduplication: { id: 'd1', keepLastIfActive: true } });
    expect(await connection.hget(jobKey(q, 'w1'), 'data'), LAYOUT).toBe(JSON.stringify({ v: 1 }));
    expect(await connection.get(dedupeKey(q, 'd1')), LAYOUT).toBe(waiting.id);
    expect(await connection.lpos(q.toKey('wait'), 'w1'), LAYOUT).not.toBeNull();
    await waiting.updateProgress({ completed: 1, total: 2 });
    expect(await connection.hget(jobKey(q, 'w1'), 'progress'), LAYOUT).toBe(JSON.stringify({ completed: 1, total: 2 }));
    await q.add('x', {}, { jobId: 'dl', delay: 60_000 });
    expect(await connection.zscore(q.toKey('delayed'), 'dl'), LAYOUT).not.toBeNull();
    await q.add('x', {}, { jobId: 'pr', priority: 5 });
    expect(await connection.zscore(q.toKey('prioritized'), 'pr'), LAYOUT).not.toBeNull();
    // What the script writes is what BullMQ reads back.
    await connection.hset(jobKey(q, 'w1'), 'data', JSON.stringify({ v: 2 }));
    await connection.hdel(jobKey(q, 'w1'), 'progress');
    const reread = await q.getJob('w1');
    expect(reread?.data, LAYOUT).toEqual({ v: 2 });
    expect(reread?.progress, LAYOUT).toBe(0);
  });

  it('finished jobs are in the completed and failed sets, and nowhere else the script looks', async () => {
    const q = freshQueue();
    const worker = new Worker(q.name, null, { connection, prefix: queuePrefix(`layout${n}`, q.name), autorun: false });
    try {
      await q.add('x', {}, { jobId: 'c1' });
      await q.add('x', {}, { jobId: 'f1' });
      const first = await worker.getNextJob('t1');
      await first?.moveToCompleted('ok', 't1', false);
      const second = await worker.getNextJob('t2');
      await second?.moveToFailed(new Error('boom'), 't2', false);
      expect(await connection.zscore(q.toKey('completed'), 'c1'), LAYOUT).not.toBeNull();
      expect(await connection.zscore(q.toKey('failed'), 'f1'), LAYOUT).not.toBeNull();
      for (const id of ['c1', 'f1']) {
        for (const key of ['wait', 'paused', 'active']) expect(await connection.lpos(q.toKey(key), id), LAYOUT).toBeNull();
        for (const key of ['delayed', 'prioritized']) expect(await connection.zscore(q.toKey(key), id), LAYOUT).toBeNull();
      }
      expect(await connection.type(q.toKey('waiting-children')), LAYOUT).toMatch(/^(zset|none)$/);
    } finally {
      await worker.close();
    }
  });

  it('delayed scores are due-ms * 0x1000 (+ an order counter), the job keeps timestamp and delay, and the marker holds the earliest due time (maxWaitMs clamp)', async () => {
    const q = freshQueue();
    const job = await q.add('x', {}, { jobId: 'd1', delay: 60_000 });
    const score = Number(await connection.zscore(q.toKey('delayed'), 'd1'));
    const [timestamp, delay] = await connection.hmget(jobKey(q, 'd1'), 'timestamp', 'delay');
    expect(Number(timestamp), LAYOUT).toBe(job.timestamp);
    expect(Number(delay), LAYOUT).toBe(60_000);
    expect(Math.floor(score / 0x1000), LAYOUT).toBe(job.timestamp + 60_000);
    expect(await connection.type(q.toKey('marker')), LAYOUT).toBe('zset');
    expect(Number(await connection.zscore(q.toKey('marker'), '1')), LAYOUT).toBeCloseTo(score / 0x1000, 0);
    // Moving a delayed job earlier the way the clamp does it: a worker runs it at the new time,
    // not at the 60 s it was added with.
    const soon = Date.now() + 200;
    await connection.zadd(q.toKey('delayed'), soon * 0x1000, 'd1');
    await connection.zadd(q.toKey('marker'), soon, '1');
    const ran: number[] = [];
    const worker = new Worker(q.name, async () => void ran.push(Date.now()), { connection, prefix: queuePrefix(`layout${n}`, q.name) });
    try {
      await waitFor(() => ran.length === 1, { timeoutMs: 5_000, description: 'the moved job to run' });
      expect(ran[0]! - soon, LAYOUT).toBeGreaterThanOrEqual(-20);
    } finally {
      await worker.close();
    }
  });

  it('paused list while the queue is paused', async () => {
    const q = freshQueue();
    await q.pause();
    await q.add('x', {}, { jobId: 'p1' });
    const inPaused = await connection.lpos(q.toKey('paused'), 'p1');
    const inWait = await connection.lpos(q.toKey('wait'), 'p1');
    // The script looks in both lists; at least one must hold a job that has not started.
    expect(inPaused !== null || inWait !== null, LAYOUT).toBe(true);
  });

  it('active list, lock token, and the follow-up BullMQ stores for keepLastIfActive (id in `jid`)', async () => {
    const q = freshQueue();
    const worker = new Worker(q.name, null, { connection, prefix: queuePrefix(`layout${n}`, q.name), autorun: false });
    try {
      await q.add('x', { v: 1 }, { jobId: 'a1', deduplication: { id: 'd2', keepLastIfActive: true } });
      const job = await worker.getNextJob('token-1');
      expect(job?.id).toBe('a1');
      expect(await connection.lpos(q.toKey('active'), 'a1'), LAYOUT).not.toBeNull();
      expect(await connection.get(jobLockKey(q, 'a1')), LAYOUT).toBe('token-1');
      const next = await q.add('x', { v: 2 }, { jobId: 'a2', deduplication: { id: 'd2', keepLastIfActive: true } });
      expect(next.id, LAYOUT).toBe('a1'); // BullMQ returns the kept job's id
      const stored = await connection.hgetall(dedupeNextKey(q, 'd2'));
      expect(stored.jid, LAYOUT).toBe('a2');
      expect(stored.data, LAYOUT).toBe(JSON.stringify({ v: 2 }));
      // When the active job finishes, the follow-up runs under that id with that data.
      await job?.moveToCompleted('done', 'token-1', false);
      const followUp = await q.getJob('a2');
      expect(followUp?.data, LAYOUT).toEqual({ v: 2 });
      expect(await connection.get(dedupeKey(q, 'd2')), LAYOUT).toBe('a2');
      expect(await connection.exists(dedupeNextKey(q, 'd2')), LAYOUT).toBe(0);
    } finally {
      await worker.close();
    }
  });
});
