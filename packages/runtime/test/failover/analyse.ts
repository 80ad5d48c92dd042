/**
 * The failover drill's analysis: the @lota/fault-harness checks run on the drill's history
 * (mutual exclusion of live holders and of live runs, fencing tokens, the store's order, no
 * acknowledged job lost) and the drill's own recovery measurements, as counts for the report and
 * violations the test asserts are empty.
 */
import { checkAckedJobsRan, checkLiveExclusion, checkStoreOrder, checkTokensIncrease, History, type Ack, type Violation } from '@lota/fault-harness';
import { ENQUEUE_TIMEOUT_MS, REFUSED, type DrillResult, type EnqueueRecord } from './records.js';

/** What the checks found: counts for the report and the violations the test asserts are empty. */
export interface DrillAnalysis {
  recovery: {
    /** Kill -> first enqueue started after the kill that was acknowledged. */
    firstEnqueueMs: number;
    /** Kill -> first completion of a job enqueued after the kill. */
    firstNewJobCompletedMs: number;
    /** Kill -> first completion of any job after the kill. */
    firstCompletionMs: number;
    /** Kill -> the topology's own failover (a new master answers). */
    topologyFailoverMs: number | undefined;
    /** Kill -> first durable enqueue started after the kill that was acknowledged (never, on a shard left without replicas). */
    firstDurableEnqueueMs: number;
  };
  counts: {
    enqueueCalls: number;
    acknowledged: number;
    /** Acknowledged jobs by why they must survive the kill (the strongest of their acknowledgements). */
    protection: Record<'replicated' | 'after-kill' | 'none', number>;
    /** Latency of enqueues acknowledged before the kill (steady state), durable and plain. */
    enqueueCost: Record<'durable' | 'plain', { n: number; p50: number; p99: number; max: number }>;
    /** Durable enqueues refused with ENQUEUE_NOT_REPLICATED, by when they started. */
    notReplicated: { beforeKill: number; killToFailover: number; afterFailover: number };
    completed: number;
    stranded: number;
    duplicates: number;
    sections: number;
    refusedWrites: number;
    lostLeases: number;
    failedAttempts: number;
    failedForGood: number;
    errorsByCode: Record<string, number>;
    maxEnqueueMs: number;
    embedCalls: number;
    embedErrors: number;
    maxEmbedMs: number;
  };
  /** Acknowledged jobs BullMQ did not complete, with their final Redis state ('unknown': gone): diagnostics. */
  notCompleted: Array<{ jobId: string; state: string; protection: string; ackMsBeforeKill: number }>;
  /** Stranded jobs: ms between BullMQ's processedOn and the kill (negative: picked up before it). */
  stranded: Array<{ jobId: string; processedMsAfterKill: number | undefined; acknowledged: boolean; lockPttl: number }>;
  /** Plain enqueues acknowledged by the old master that never ran (asynchronous replication may lose them): reported, not a violation. */
  lostPlain: Violation[];
  /** Refused fenced writes (a newer token wrote first), and whether the holder's signal was still live then. */
  refusals: string[];
  violations: {
    /** Harness: a live effect of an org-lock holder while another holder of the org was live (not excused by the kill's lock loss). */
    lockExclusion: Violation[];
    /** The same, on orgs where the known orphan-grant race gave a lock up (see observeOrphanGrantLeaves in observer.ts): tolerated only with LOTA_FAILOVER_TOLERATE=1. */
    lockExclusionFromOrphanGrant: Violation[];
    /** Harness: fencing tokens strictly increase per org, in section start order, across the failover. */
    fencingTokens: Violation[];
    /** Harness: the fenced store never accepted a token lower than one it had accepted. */
    storeOrder: Violation[];
    /** Harness: acknowledged jobs without a successful run; binding for durable enqueues and anything a surviving master acknowledged. */
    ackedJobsLost: Violation[];
    /** Harness: a live effect of a job run while another run of the same job was live. */
    jobExclusion: Violation[];
    untypedProducerErrors: string[];
    hungEnqueues: string[];
    /** Jobs whose processor succeeded more than once although none of those runs was in flight when the master died. */
    duplicatesNotActiveAtFailover: string[];
    wrongVectors: number;
    embedErrors: string[];
  };
}

/** `history` without the events `drop` matches (a view for one check). */
function without(history: History, drop: (e: History['events'][number]) => boolean): History {
  const view = new History();
  for (const e of history.events) if (!drop(e)) view.add(e);
  return view;
}

/** Checks the records of a drill. */
export function analyseDrill(d: DrillResult): DrillAnalysis {
  const { killAt, history } = d;
  const rank = { none: 0, 'after-kill': 1, replicated: 2 } as const;
  const acked = new Map<string, EnqueueRecord>();
  for (const e of d.enqueues) {
    if (!e.ack || !e.jobId) continue;
    const prev = acked.get(e.jobId);
    if (!prev || rank[e.protection ?? 'none'] > rank[prev.protection ?? 'none']) acked.set(e.jobId, e);
  }
  const isCompleted = (id: string): boolean => d.completed.has(id) || d.finalStates.get(id) === 'completed';
  const firstAck = d.enqueues.filter((e) => e.start > killAt && e.code === undefined).sort((a, b) => a.end - b.end)[0];
  const firstDurable = d.enqueues.filter((e) => e.start > killAt && e.code === undefined && e.durable).sort((a, b) => a.end - b.end)[0];
  const postKillIds = new Set(d.enqueues.filter((e) => e.start > killAt && e.code === undefined).map((e) => e.jobId));
  const completionsAfter = [...d.completed].filter(([, at]) => at > killAt);
  const firstNew = completionsAfter.filter(([id]) => postKillIds.has(id)).map(([, at]) => at).sort((a, b) => a - b)[0];
  const firstAny = completionsAfter.map(([, at]) => at).sort((a, b) => a - b)[0];

  // --- No acknowledged job lost (harness). Plain enqueues the old master acknowledged may be lost
  // (Redis replication is asynchronous): they are left out of the binding check and reported.
  const unprotected = new Set<Ack>(d.enqueues.filter((e) => e.ack && e.protection === 'none').map((e) => e.ack!));
  // A job still 'active' in Redis once the queue drained (taken just before the kill, its lock
  // still running) is not lost: BullMQ's stalled check runs it again when the lock expires. The
  // test bounds those jobs separately (how many, when taken, how long their lock lives).
  const strandedIds = new Set(d.stranded.map((s) => s.jobId));
  const ackedJobsLost = checkAckedJobsRan(without(history, (e) => e.k === 'ack' && (unprotected.has(e) || strandedIds.has(e.jobId))));
  const bound = new Set([...acked.values()].filter((e) => e.protection !== 'none').map((e) => e.jobId));
  const lostPlain = checkAckedJobsRan(without(history, (e) => e.k === 'ack' && (!unprotected.has(e) || bound.has(e.jobId))));

  const notCompleted = [...acked.values()]
    .filter((e) => !isCompleted(e.jobId!))
    .map((e) => ({ jobId: e.jobId!, state: d.finalStates.get(e.jobId!) ?? '?', protection: e.protection ?? 'none', ackMsBeforeKill: Math.round(killAt - e.end) }));
  const stranded = d.stranded.map((s) => ({
    jobId: s.jobId,
    processedMsAfterKill: s.processedOn === undefined ? undefined : Math.round(s.processedOn - d.killWallMs),
    acknowledged: acked.has(s.jobId),
    lockPttl: s.lockPttl,
  }));

  const cost = (durable: boolean): { n: number; p50: number; p99: number; max: number } => {
    const ms = d.enqueues
      .filter((e) => e.durable === durable && e.code === undefined && e.end < killAt)
      .map((e) => e.end - e.start)
      .sort((a, b) => a - b);
    const at = (q: number): number => Math.round((ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? Number.NaN) * 10) / 10;
    return { n: ms.length, p50: at(0.5), p99: at(0.99), max: at(1) };
  };
  const failoverAt = d.failoverAt ?? Number.POSITIVE_INFINITY;
  const refusedNotReplicated = d.enqueues.filter((e) => e.code === 'ENQUEUE_NOT_REPLICATED');
  const notReplicated = {
    beforeKill: refusedNotReplicated.filter((e) => e.start < killAt).length,
    killToFailover: refusedNotReplicated.filter((e) => e.start >= killAt && e.start < failoverAt).length,
    afterFailover: refusedNotReplicated.filter((e) => e.start >= failoverAt).length,
  };

  const errorsByCode: Record<string, number> = {};
  for (const e of d.enqueues) if (e.code) errorsByCode[e.code] = (errorsByCode[e.code] ?? 0) + 1;
  const typed = new Set(['REDIS_UNREACHABLE', 'ENQUEUE_TIMEOUT', 'ENQUEUE_NOT_REPLICATED']);
  const untypedProducerErrors = d.enqueues.filter((e) => e.code && !typed.has(e.code)).map((e) => `${e.code}: ${e.message}`);
  const hungEnqueues = d.enqueues.filter((e) => e.end - e.start > ENQUEUE_TIMEOUT_MS + 2_000).map((e) => `${e.orgId}/${e.turnId} took ${Math.round(e.end - e.start)} ms`);

  // --- At-least-once: a job whose processor succeeded more than once must have been in flight
  // (or its completion not yet recorded) when the master died.
  const runEnds = new Map(history.of('run-end').map((e) => [e.id, e]));
  const okRuns = new Map<string, Array<{ proc: string; start: number }>>();
  for (const r of history.of('run')) if (runEnds.get(r.id)?.ok) okRuns.set(r.jobId, [...(okRuns.get(r.jobId) ?? []), { proc: r.proc, start: r.t / 1000 }]);
  const duplicates = [...okRuns].filter(([, list]) => list.length > 1);
  const duplicatesNotActiveAtFailover = duplicates
    .filter(([id, list]) => {
      const completedAt = d.completed.get(id);
      return !(list[0]!.start < failoverAt && (completedAt === undefined || completedAt > killAt));
    })
    .map(([id, list]) => `${id}: ${list.map((x) => `${x.proc}@${Math.round(x.start - killAt)}ms`).join(', ')}`);

  // --- Locks (harness): live exclusion (the kill may lose lock data: a holder let in by that is
  // excused, fencing is not), tokens strictly increasing, the store never accepting out of order.
  const orphanScopes = new Set(d.orphanGrantLeaves.map((l) => l.tag));
  const exclusion = checkLiveExclusion(history, 'section');
  const fromOrphanGrant = (v: Violation): boolean => [...orphanScopes].some((scope) => v.message.startsWith(`scope ${scope}:`));
  const sectionEnds = history.of('section-end');
  const refused = sectionEnds.filter((e) => e.error?.includes(REFUSED));
  const refusals = refused.map((e) => `${e.id} at ${Math.round(e.t / 1000 - killAt)} ms (${e.abortedAt === undefined ? 'signal still live' : `signal aborted ${Math.round(e.abortedAt / 1000 - killAt)} ms`}): ${e.error ?? ''}`);

  const protection = { replicated: 0, 'after-kill': 0, none: 0 };
  for (const e of acked.values()) protection[e.protection ?? 'none']++;
  const embedDurations = d.embeds.map((e) => e.end - e.start);
  return {
    recovery: {
      firstEnqueueMs: firstAck ? Math.round(firstAck.end - killAt) : Number.NaN,
      firstNewJobCompletedMs: firstNew === undefined ? Number.NaN : Math.round(firstNew - killAt),
      firstCompletionMs: firstAny === undefined ? Number.NaN : Math.round(firstAny - killAt),
      topologyFailoverMs: d.failoverAt === undefined ? undefined : Math.round(d.failoverAt - killAt),
      firstDurableEnqueueMs: firstDurable ? Math.round(firstDurable.end - killAt) : Number.NaN,
    },
    counts: {
      enqueueCalls: d.enqueues.length,
      acknowledged: acked.size,
      protection,
      enqueueCost: { durable: cost(true), plain: cost(false) },
      notReplicated,
      completed: [...acked.keys()].filter(isCompleted).length,
      stranded: d.stranded.length,
      duplicates: duplicates.length,
      sections: history.of('section').length,
      refusedWrites: refused.length,
      lostLeases: sectionEnds.filter((e) => e.abortedAt !== undefined).length,
      failedAttempts: d.failedAttempts.length,
      failedForGood: d.failedAttempts.filter((f) => f.final).length,
      errorsByCode,
      maxEnqueueMs: Math.round(Math.max(...d.enqueues.map((e) => e.end - e.start))),
      embedCalls: d.embeds.length,
      embedErrors: d.embeds.filter((e) => e.error).length,
      maxEmbedMs: Math.round(Math.max(...embedDurations)),
    },
    notCompleted,
    stranded,
    lostPlain,
    refusals,
    violations: {
      lockExclusion: exclusion.filter((v) => !fromOrphanGrant(v)),
      lockExclusionFromOrphanGrant: exclusion.filter(fromOrphanGrant),
      fencingTokens: checkTokensIncrease(history),
      storeOrder: checkStoreOrder(d.storeLog),
      ackedJobsLost,
      jobExclusion: checkLiveExclusion(history, 'run'),
      untypedProducerErrors,
      hungEnqueues,
      duplicatesNotActiveAtFailover,
      wrongVectors: d.embeds.filter((e) => !e.error && !e.correct).length,
      embedErrors: d.embeds.filter((e) => e.error).map((e) => e.error!),
    },
  };
}
