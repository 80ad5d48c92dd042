/**
 * Failover of the whole runtime: the Redis master that holds the memory-extraction queue is
 * SIGKILLed while producers enqueue, workers hold org locks and write to a fenced store, and the
 * embedding cache serves; then the runtime must recover by itself (see failover/drill.ts).
 * Exclusion, fencing and "no acknowledged job lost" are the @lota/fault-harness checks run on the
 * drill's history; recovery times, typed errors and the cache are this drill's own assertions.
 *
 * The drill once found four faults in the packages; each is fixed and the drill is strict about
 * all of them (LOTA_FAILOVER_TOLERATE=1 brings back the old tolerances, as diagnostics, when
 * investigating a regression):
 *
 * 1. @lota/org-lock: a late pub/sub grant for a waiter that already held the lock was taken for an
 *    orphan and released under the live holder (two holders). Grants for live tokens are ignored.
 * 2. @lota/queues on Redis Cluster: enqueue passed ioredis Cluster errors through untyped; they
 *    are now REDIS_UNREACHABLE with the jobId for an idempotent retry.
 * 3. @lota/redis-connection on Sentinel: ioredis' failoverDetector could leave a client ended for
 *    good; it is off, and a shared client that ends while the manager is up is reconnected.
 * 4. @lota/redis-connection on Cluster: ioredis gave up on a slot after ~1.6 s of redirections,
 *    shorter than a failover, leaving jobs stuck until their lock expired; the BullMQ client now
 *    retries for ~30 s.
 */
import { startCluster, startSentinel, testkitCapabilities, waitFor, type RedisSentinelTopology } from '@lota/redis-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Violation } from '@lota/fault-harness';
import type { LotaRuntime } from '../src/index.js';
import { analyseDrill, type DrillAnalysis } from './failover/analyse.js';
import { runFailoverDrill } from './failover/drill.js';
import { KnownBugError, type DrillResult, type FailoverTarget } from './failover/records.js';

const caps = await testkitCapabilities();
// Strict by default: every fault the drill once had to tolerate is fixed. LOTA_FAILOVER_TOLERATE=1
// restores the old tolerances (as diagnostics) when investigating a regression.
const STRICT = process.env.LOTA_FAILOVER_TOLERATE !== '1';
/** BullMQ's default job lock (the runtime cannot change it for built-in workers). */
const BULLMQ_LOCK_MS = 30_000;

const runtimes: LotaRuntime[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
async function cleanUp(): Promise<void> {
  await Promise.allSettled(runtimes.splice(0).map((r) => r.disconnect({ timeoutMs: 3_000 })));
  for (const c of cleanups.splice(0).reverse()) await c();
}
afterEach(cleanUp);

/** The drill could not check anything because the topology misbehaved (not the runtime). */
class TopologyHiccup extends Error {
  override readonly name = 'TopologyHiccup';
}

/**
 * Runs `attempt`; when a known bug stops the drill (or the topology misbehaves), cleans up and
 * runs it again on a fresh topology, at most twice (the Sentinel client bug hit about one drill
 * in six here). Every re-run is printed.
 */
async function withReruns(name: string, attempt: () => Promise<void>): Promise<void> {
  for (let run = 1; ; run++) {
    try {
      await attempt();
      return;
    } catch (err) {
      if (STRICT || run > 2 || !(err instanceof KnownBugError || err instanceof TopologyHiccup)) throw err;
      console.log(`[failover:${name}] ${err instanceof KnownBugError ? 'TOLERATED' : 'TOPOLOGY HICCUP'}: ${err.message}; running the drill again on a fresh topology`);
      await cleanUp();
    }
  }
}

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

const messages = (list: readonly Violation[]): string[] => list.map((v) => v.message);

function report(name: string, d: DrillResult, a: DrillAnalysis): void {
  const p = `[failover:${name}]`;
  const generic = (m: string): string => m.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'host:port').replace(/MOVED \d+/, 'MOVED <slot>').slice(0, 110);
  console.log(
    [
      `${p} RECOVERY after the kill: first acknowledged enqueue ${a.recovery.firstEnqueueMs} ms, ` +
        `first job enqueued after the kill completed ${a.recovery.firstNewJobCompletedMs} ms ` +
        `(first completion of any job ${a.recovery.firstCompletionMs} ms; the topology itself had failed over at ${a.recovery.topologyFailoverMs ?? '?'} ms); ` +
        `first acknowledged durable enqueue ${a.recovery.firstDurableEnqueueMs} ms`,
      `${p} at the kill: ${d.heldAtKill} lock sections in progress (${d.heldOnKilledMasterAtKill} on the killed master), ${d.activeAtKill} jobs active`,
      `${p} counts: ${JSON.stringify(a.counts)}`,
      `${p} DURABLE ENQUEUE cost before the kill (ms): waitForReplicas 1 ${JSON.stringify(a.counts.enqueueCost.durable)}, plain ${JSON.stringify(a.counts.enqueueCost.plain)}; ` +
        `ENQUEUE_NOT_REPLICATED ${JSON.stringify(a.counts.notReplicated)}; protected (durable, or from a surviving master) acknowledged and lost: ${a.violations.ackedJobsLost.length}; ` +
        `plain acknowledged by the old master and lost: ${JSON.stringify(messages(a.lostPlain))}`,
      `${p} producer errors: ${JSON.stringify(countBy(d.enqueues.filter((e) => e.code).map((e) => `${e.code}: ${generic(e.message ?? '')}`)))}`,
      `${p} acknowledged but not completed: ${JSON.stringify(a.notCompleted)}`,
      `${p} stranded in 'active': ${JSON.stringify(a.stranded)}; worker errors: ${JSON.stringify(countBy(d.workerErrors.map((e) => generic(e.message))))}`,
      `${p} HISTORY (fault-harness): ${d.history.events.length} events (${a.counts.sections} lock sections, ${d.history.of('run').length} runs, ${d.history.of('ack').length} acknowledgements, ` +
        `${d.history.of('effect').length} effects, faults ${JSON.stringify(d.history.of('fault').map((f) => `${f.kind} loses ${f.loses.join('+') || 'nothing'}`))}); violations: ` +
        JSON.stringify(Object.fromEntries(Object.entries(a.violations).filter(([, v]) => Array.isArray(v) && v.length > 0))),
      `${p} refused fenced writes: ${JSON.stringify(a.refusals)}; org-lock orphan-grant leaves ${d.orphanGrantLeaves.length}`,
      `${p} cache: late reader ${JSON.stringify(d.lateReader)}; runtimes ${JSON.stringify(d.statsAfter)}; health after: ${d.health.join(',')}`,
      `${p} drill took ${Math.round(d.durationMs)} ms`,
    ].join('\n'),
  );
}

interface Tolerated {
  /** Untyped producer errors matching this are the known @lota/queues Cluster bug. */
  untypedEnqueueErrors?: RegExp;
}

function check(d: DrillResult, a: DrillAnalysis, tolerated: Tolerated = {}): void {
  const v = a.violations;
  // The kill happened while locks were held on the master that died, with jobs running.
  expect(d.heldOnKilledMasterAtKill).toBeGreaterThan(0);
  expect(d.activeAtKill).toBeGreaterThan(0);

  // Producers: errors during the outage (typed), never a hang; enqueues succeed again by themselves.
  const known = !STRICT && tolerated.untypedEnqueueErrors;
  expect(known ? v.untypedProducerErrors.filter((m) => !known.test(m)) : v.untypedProducerErrors).toEqual([]);
  expect(v.hungEnqueues).toEqual([]);
  expect(Object.keys(a.counts.errorsByCode).length).toBeGreaterThan(0);
  expect(a.recovery.firstEnqueueMs).toBeLessThan(10_000);

  // Workers resume by themselves: jobs enqueued after the kill complete.
  expect(a.recovery.firstNewJobCompletedMs).toBeLessThan(12_000);

  // Durable enqueues (waitForReplicas 1) ran before the kill, and not one acknowledged was lost:
  // each ran to completion (the harness's acknowledged-job check). Nor any job a surviving master
  // acknowledged, ENQUEUE_NOT_REPLICATED included (its error says the job is enqueued). Only plain
  // enqueues acknowledged by the old master may be lost (asynchronous replication): reported.
  expect(a.counts.enqueueCost.durable.n).toBeGreaterThan(20);
  expect(messages(v.ackedJobsLost)).toEqual([]);
  expect(a.counts.failedForGood).toBe(0);
  if (STRICT) {
    expect(a.stranded).toEqual([]);
  } else {
    // Stranded jobs are not lost: still 'active' in Redis, picked up before the topology failed
    // over, with a lock that expires (or is gone), so BullMQ's stalled check runs them again.
    expect(a.stranded.length).toBeLessThanOrEqual(6); // 2 workers x concurrency 3
    for (const s of a.stranded) {
      expect(s.processedMsAfterKill ?? Number.POSITIVE_INFINITY).toBeLessThan((a.recovery.topologyFailoverMs ?? 0) + 250);
      expect(s.lockPttl === -2 || (s.lockPttl > 0 && s.lockPttl <= BULLMQ_LOCK_MS), `lock PTTL ${s.lockPttl}`).toBe(true);
    }
  }

  // At-least-once: a job runs twice only if it was in flight when the master died, and never
  // while another run of it is live (harness).
  expect(v.duplicatesNotActiveAtFailover).toEqual([]);
  expect(messages(v.jobExclusion)).toEqual([]);

  // Mutual exclusion and fencing (harness). The kill may lose lock data (a holder the promoted
  // replica did not know about is excused); fencing is never excused: tokens keep increasing and
  // the store never accepts out of order.
  expect(a.counts.sections).toBeGreaterThan(100);
  expect(messages(STRICT ? [...v.lockExclusion, ...v.lockExclusionFromOrphanGrant] : v.lockExclusion)).toEqual([]);
  expect(messages(v.fencingTokens)).toEqual([]);
  expect(messages(v.storeOrder)).toEqual([]);

  // The cache served throughout (correct vectors, no errors, bounded latency) and after.
  expect(v.embedErrors).toEqual([]);
  expect(v.wrongVectors).toBe(0);
  expect(a.counts.maxEmbedMs).toBeLessThan(2_000);
  expect(d.lateReader.correct).toBe(true);
  expect(d.lateReader.hits).toBeGreaterThan(0);

  // Every runtime reports ready again.
  expect(d.health.every((s) => s === 'ready'), `${d.health.join(',')}; ${d.healthDetail.join('; ')}`).toBe(true);
}

/** What the sentinels and data nodes logged around the failover, for a failed drill. */
function sentinelLog(topo: RedisSentinelTopology): string {
  const events = /[+-](sdown|odown|switch-master|promoted|failover|elected|selected|slave-reconf|convert|new-epoch|try-failover)/;
  return [
    ...topo.sentinels.map((s) => `sentinel ${s.port}:\n` + s.logTail(400).split('\n').filter((l) => events.test(l)).map((l) => `  ${l}`).join('\n')),
    ...topo.dataNodes.map((n) => `data node ${n.port}${n.running ? '' : ' (killed)'}:\n  ${n.logTail(25).split('\n').join('\n  ')}`),
  ].join('\n');
}

describe.skipIf(!caps.topologies)('failover of the whole runtime', () => {
  it('Redis Cluster, 3 masters with 1 replica each: the master of {memory-extraction} is killed', { timeout: 45_000 }, async () => {
    // AOF stays off on purpose: the killed master is not restarted; its replica is promoted, and
    // a promoted replica has only what replication delivered. AOF on the dead master cannot bring
    // back a write its replica never received (and a restarted ex-master resyncs from the new
    // master, dropping its own copy). What protects an acknowledged job here is the durable
    // enqueue (waitForReplicas 1). With one replica per master, the promoted replica has none, so
    // every durable enqueue to that shard is ENQUEUE_NOT_REPLICATED until a replica rejoins.
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000 });
    cleanups.push(() => cluster.dispose());
    const owner = await cluster.slotOwner('lota:{memory-extraction}:memory-extraction:id');
    const killPort = owner.master.port;
    const replicaPort = owner.replicas[0]?.port;
    expect(replicaPort).toBeDefined();
    // Two orgs whose lock (and fenced store) keys live on the master that dies, two elsewhere.
    const candidates = await Promise.all(Array.from({ length: 30 }, async (_, i) => ({ org: `org-${i}`, port: (await cluster.slotOwner(`{org:org-${i}}`)).master.port })));
    const onKilled = candidates.filter((c) => c.port === killPort).slice(0, 2).map((c) => c.org);
    const elsewhere = candidates.filter((c) => c.port !== killPort).slice(0, 2).map((c) => c.org);
    expect(onKilled).toHaveLength(2);

    const target: FailoverTarget = {
      redis: { cluster: { nodes: cluster.startupNodes } },
      orgs: [...onKilled, ...elsewhere],
      orgsOnKilledMaster: onKilled,
      kill: () => owner.master.kill(),
      waitForFailover: () =>
        waitFor(async () => ((await cluster.topology()).some((n) => n.port === replicaPort && n.role === 'master' && n.connected) ? replicaPort! : undefined), {
          timeoutMs: 20_000,
          description: `the replica on port ${replicaPort} to be promoted`,
        }),
    };
    const d = await runFailoverDrill({ target, runtimes });
    const a = analyseDrill(d);
    report('cluster', d, a);
    expect(d.newMasterPort).toBe(replicaPort);
    check(d, a, { untypedEnqueueErrors: /^untyped:Error: (Too many Cluster redirections|Connection is closed)/ });
  });

  it('Sentinel, 1 primary, 2 replicas, 3 sentinels: the primary is killed', { timeout: 45_000 }, async () => {
    await withReruns('sentinel', async () => {
      // down-after 1500 ms, not 500: with down-after <= 1000 ms (Sentinel's ping period), the
      // sentinels often mark the just-promoted replica down before its first PONG and fail over a
      // second time, leaving two masters for 10-15 s (5 of 10 drills at 500 ms, 1 of 10 at
      // 1000 ms, 0 of 10 at 1500 ms and at 2000 ms). A split brain is not what this test is about.
      const topo = await startSentinel({ replicas: 2, sentinels: 3, downAfterMs: 1_500, failoverTimeoutMs: 2_000 });
      cleanups.push(() => topo.dispose());
      const primary = await topo.primary();
      const orgs = ['org-a', 'org-b', 'org-c', 'org-d'];
      const target: FailoverTarget = {
        redis: { sentinel: { sentinels: topo.sentinelAddresses, name: topo.name } },
        orgs,
        orgsOnKilledMaster: orgs,
        kill: () => primary.kill(),
        waitForFailover: async () => (await topo.waitForFailover(primary.port, 20_000)).port,
      };
      const d = await runFailoverDrill({ target, runtimes }).catch((err: unknown) => {
        console.log(sentinelLog(topo));
        throw err;
      });
      const switches = topo.sentinels.map((s) => s.logTail(1_000).split('\n').filter((l) => l.includes('+switch-master')).length);
      if (switches.filter((n) => n > 1).length >= 2) {
        console.log(sentinelLog(topo));
        throw new TopologyHiccup(`the sentinels failed over more than once (+switch-master per sentinel: ${switches.join(',')})`);
      }
      const a = analyseDrill(d);
      report('sentinel', d, a);
      expect(d.newMasterPort).not.toBe(primary.port);
      check(d, a);
    });
  });
});
