/**
 * A failover drill for the whole runtime: producers, workers (memory extraction under the org
 * lock, writing to a fenced store), and the embedding cache keep running while the Redis master
 * that holds the queue is SIGKILLed; afterwards the records are checked (analyse.ts) and the
 * recovery measured. Used by failover.test.ts for Redis Cluster and for Sentinel.
 *
 * Built from parts like the soak tool: the producer (producer.ts), two workers (worker.ts), the
 * embedding traffic (embedder.ts) and the observer that kills the master and watches the
 * recovery (observer.ts). Everything runs in this process, with one runtime per role (a producer
 * runtime and two worker runtimes). Each runtime has its own connection manager, lock instance
 * and cache, so Redis sees them exactly as three processes (their own clients, failover
 * detection, slot refreshes and lock hand-offs over pub/sub); cleanup is simple.
 *
 * What the roles do is recorded as one @lota/fault-harness history: the producer's acknowledged
 * enqueues, each worker's job runs and org-lock sections (the fenced write is an effect of the
 * section and of the run, stamped with whether its signal was still live; abort times are
 * recorded), and the kill as a fault that may lose lock data (replication is asynchronous: the
 * promoted replica may not know the latest leases). The harness checks judge that history; the
 * drill keeps its own recovery measurements. The fenced store lives on its own Redis, which the
 * kill does not touch: it stands for the resource the lock protects, so a lock that lost its
 * data shows up there as refused writes, never as a lost accepted one.
 */
import { FencedStore, History } from '@lota/fault-harness';
import { startRedis } from '@lota/redis-testkit';
import { Redis } from 'ioredis';
import type { LotaRuntime } from '../../src/index.js';
import { readWarmSet, startEmbedder } from './embedder.js';
import { diagnose, drain, finalStates, killMaster, observeOrphanGrantLeaves, settledHealth, strandedJobs, waitForRecovery, warmUp, watchFailover } from './observer.js';
import { startProducer } from './producer.js';
import { now, type DrillContext, type DrillResult, type FailoverTarget } from './records.js';
import { newTally, startWorker } from './worker.js';

export interface DrillOptions {
  target: FailoverTarget;
  /** Runtimes created by the drill are pushed here for the caller's afterEach to disconnect. */
  runtimes: LotaRuntime[];
}

/**
 * Runs the drill: warm up until jobs flow and a lock is held on the master that will die, kill
 * it, keep producing until jobs enqueued after the kill complete, stop producers, drain, and
 * return every record for the caller to check.
 */
export async function runFailoverDrill({ target, runtimes }: DrillOptions): Promise<DrillResult> {
  const storeServer = await startRedis();
  const storeClient = new Redis(storeServer.url, { maxRetriesPerRequest: 3 });
  const orphans = observeOrphanGrantLeaves();
  try {
    // A prefix of its own: on a shared server (REDIS_URL) the log must hold this drill's writes only.
    const store = new FencedStore(storeClient, `failover-drill:${process.pid}:${Date.now()}`);
    return await drill(target, runtimes, orphans.leaves, store);
  } finally {
    orphans.restore();
    storeClient.disconnect();
    await storeServer.dispose();
  }
}

async function drill(target: FailoverTarget, runtimes: LotaRuntime[], orphanGrantLeaves: DrillResult['orphanGrantLeaves'], store: FencedStore): Promise<DrillResult> {
  const t0 = now();
  const ctx: DrillContext = {
    history: new History(),
    logs: [],
    runtimes,
    redis: { ...target.redis, healthCheckIntervalMs: 1_000, healthCheckTimeoutMs: 800, commandTimeoutMs: 2_000, connectTimeoutMs: 3_000 },
    killAt: Number.POSITIVE_INFINITY,
    killedAt: Number.POSITIVE_INFINITY,
  };
  const tally = newTally();
  const producer = await startProducer(ctx);
  const workers = [await startWorker(ctx, 'worker-a', store, tally), await startWorker(ctx, 'worker-b', store, tally)];
  producer.start(target.orgs);
  const embedder = startEmbedder(producer.runtime);
  const stopTraffic = (): Promise<[void, void]> => Promise.all([producer.stop(), embedder.stop()]);

  try {
    await warmUp(target, tally);
    const atKill = await killMaster(ctx, target, tally);
    const failover = watchFailover(target);
    await waitForRecovery(ctx, producer.enqueues, tally);
    const failoverError = await failover.settled;
    if (failoverError) throw failoverError;
    await stopTraffic();

    const queue = producer.runtime.queues.getQueue('memory-extraction');
    const leftover = await drain(queue, tally);
    const stranded = await strandedJobs(queue, producer.runtime.redis.getConnectionForBullMQ());
    const states = await finalStates(queue, producer.enqueues, tally);
    const { reader, result: lateReader } = await readWarmSet(ctx, embedder.texts);
    const storeLog = await store.acceptedLog([...new Set(ctx.history.of('section').map((s) => s.scope))]);
    // Every runtime reports healthy again by itself.
    const { health, healthDetail } = await settledHealth([producer.runtime, ...workers, reader]);

    const workerErrors = ctx.logs
      .flatMap((l) => l.lines)
      .filter((l) => l.message.startsWith('worker error'))
      .map((l) => ({ at: l.at, message: String(l.fields.error) }));
    return {
      history: ctx.history,
      storeLog,
      killAt: ctx.killAt,
      killedAt: ctx.killedAt,
      ...atKill,
      orphanGrantLeaves: [...orphanGrantLeaves],
      finalStates: states,
      stranded,
      workerErrors,
      failoverAt: failover.at,
      newMasterPort: failover.newMasterPort,
      enqueues: producer.enqueues,
      completed: tally.completed,
      failedAttempts: tally.failedAttempts,
      embeds: embedder.embeds,
      leftover,
      lateReader,
      health,
      healthDetail,
      statsAfter: [producer.runtime, ...workers].map((r) => r.embeddings.stats()),
      logs: ctx.logs,
      durationMs: now() - t0,
    };
  } catch (err) {
    await diagnose(ctx, err, producer.enqueues, tally);
    throw err;
  } finally {
    await Promise.allSettled([stopTraffic()]);
  }
}
