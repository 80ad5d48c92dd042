import { checkAll, type History, type Violation } from '@lota/fault-harness';
import type { MemMessage } from './config.js';
import { samplesOf, type WorkerProc } from './fleet.js';
import type { SoakOptions } from './options.js';
import type { ProducerResult } from './producer.js';
import { MB, slope } from './stats.js';

export type QueueName = 'memory-extraction' | 'memory-digest';

/**
 * Debounced queues: a later schedule replaces a pending one's data by design, so the harness
 * checks that the latest acknowledged data runs last there, instead of that every job id runs.
 */
export const LATEST_WINS_QUEUES: readonly QueueName[] = ['memory-digest'];

/** What the driver's QueueEvents saw (BullMQ's own event stream: written atomically with each move). */
export interface EventLog {
  /** jobId -> Date.now() when the 'completed' event arrived. */
  completed: Record<QueueName, Map<string, number>>;
  /** jobId -> failedReason, for jobs that failed for good. */
  failed: Record<QueueName, Map<string, string>>;
  /** jobIds BullMQ's stalled check moved back to wait (one entry per recovery). */
  stalled: Record<QueueName, string[]>;
}

/** Read back from Redis after the drain. */
export interface Collected {
  /** The fenced store's log of accepted tokens per scope (for the harness's store-order check). */
  storeLog: Map<string, number[]>;
  /** Memories stored over every org (the facts accepted writes added). */
  memories: number;
  /** For acknowledged jobs without a 'completed' event: the state Redis reports now (and its failedReason). */
  reconciled: Map<string, { state: string; failedReason?: string }>;
}

export interface Kill {
  victim: string;
  /** ms since the run started. */
  at: number;
  replacement: string;
}

/** A kill, seen from the victim's side: what it was doing when it died. */
export interface KillDetail extends Kill {
  /** Runs the victim had started and not finished (the kill cut them). */
  jobsInFlight: number;
  /** The victim was inside an org lock section when it died. */
  inSection: boolean;
  /** ms between the victim's last completed section and its exit. */
  lastSectionEndedMsBefore: number | undefined;
}

export interface MemoryRow {
  name: string;
  slot: number;
  protected: boolean;
  fate: WorkerProc['fate'];
  lifetimeS: number;
  /** Samples after warm-up. */
  samples: number;
  /** Minutes between the first and last sample after warm-up. */
  windowMin: number;
  heapFirstMB: number;
  heapLastMB: number;
  /** (last - first) / window, post-GC heapUsed. */
  heapPerMin: number;
  /** Least-squares slope of post-GC heapUsed. */
  heapSlopePerMin: number;
  rssFirstMB: number;
  rssLastMB: number;
  rssPerMin: number;
  verdict: 'flat' | 'growing' | 'too short';
}

export interface MinuteRow {
  minute: number;
  workers: number;
  heapMB: number;
  rssMB: number;
}

export interface Summary {
  options: SoakOptions;
  durationMs: number;
  produceMs: number;
  drainMs: number;
  drained: boolean;
  interrupted: boolean;
  producer: ProducerResult;
  /** Distinct memory-extraction jobIds acknowledged. */
  acked: number;
  completed: number;
  completedByReconcile: number;
  digestRuns: number;
  throughput: { overall: number; extractionOnly: number };
  /** Acknowledged extraction jobs BullMQ did not complete (no event, and another state now), with that state and the failed reason. */
  notCompleted: Array<{ jobId: string; state: string; reason: string }>;
  failedForGood: Array<{ queue: QueueName; jobId: string; reason: string }>;
  kills: KillDetail[];
  crashes: string[];
  /** Workers told to stop at the end: exit codes and the slowest stop. */
  shutdown: { stopped: number; exitCodes: Record<string, number>; slowestMs: number };
  stalled: Record<QueueName, number>;
  interrupted_jobs: { total: number; recovered: number; missing: string[] };
  reruns: number;
  /** Jobs whose processor succeeded more than once (at-least-once), and the extra runs. */
  duplicates: { jobs: number; extraRuns: number };
  failedAttempts: Map<string, number>;
  sections: { total: number; orgs: number; closedByDeath: number; stillOpen: number; perOrgMax: number };
  fence: { accepted: number; refused: number; added: number };
  /** Workstreams (debounce keys) that got an acknowledged digest schedule. */
  digestKeys: number;
  cache: { hits: number; misses: number; memoryHits: number; providerCalls: number; errors: number };
  memory: { rows: MemoryRow[]; minutes: MinuteRow[]; verdict: string; ok: boolean };
  logCounts: Array<[string, number]>;
  logRaw: number;
  /** The slowest enqueue calls, with the time since the nearest earlier kill (a replacement worker starting competes for the CPU). */
  slowEnqueues: Array<{ kind: 'extraction' | 'digest'; ms: number; atS: number; sinceKillS: number | undefined }>;
  /** Extraction enqueue latencies of calls made more than 3 s after any kill. */
  latencyAwayFromKills: number[];
  diagnostics: Diagnostics;
  /** Every broken guarantee the harness checks found in the history (empty: all held). */
  violations: Violation[];
  passed: boolean;
}

/** The harness checks the soak's history feeds (it records no bounded calls and prints no secrets). */
export const SOAK_CHECKS: ReadonlySet<string> = new Set(['lock-exclusion', 'fencing-tokens', 'fenced-store', 'acked-job-lost', 'job-exclusion', 'latest-data', 'vectors', 'process-exit']);

/** The violations one harness check found (names: CHECKS of @lota/fault-harness). */
export function found(s: Summary, check: string): Violation[] {
  return s.violations.filter((v) => v.check === check);
}

/** Where slow calls may come from: the driver's own event loop, and Redis' latency monitor and log. */
export interface Diagnostics {
  /** Event-loop delay of the driver (which runs the producer) while producing, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** LATENCY LATEST (threshold 50 ms): event, latest and max ms. */
  redisLatency: Array<{ event: string; latestMs: number; maxMs: number }>;
  /** Lines of the server's log that warn about something (slow fsync, memory, ...). */
  redisLogWarnings: string[];
}

export interface AnalyzeInput {
  options: SoakOptions;
  startedAt: number;
  produceEndedAt: number;
  drainEndedAt: number;
  drained: boolean;
  interrupted: boolean;
  producer: ProducerResult;
  /** Everything the workers and the producer did, and the kills and exits (harness clock). */
  history: History;
  events: EventLog;
  collected: Collected;
  workers: WorkerProc[];
  kills: Kill[];
  logCounts: Map<string, number>;
  logRaw: number;
  diagnostics: Diagnostics;
}

/** Above this post-GC heap growth (MB per minute, both first-to-last and fitted), a worker is "growing". */
export const LEAK_MB_PER_MIN = 1;
/** A worker needs this long after warm-up before its memory is judged. */
export const MIN_WINDOW_MIN = 1;

/** Distinct job ids an enqueue of `queue` acknowledged, per the history. */
export function ackedJobs(history: History, queue: QueueName): Set<string> {
  return new Set(history.of('ack').filter((a) => a.queue === queue).map((a) => a.jobId));
}

function memoryRows(workers: readonly WorkerProc[], warmupMs: number, runEnd: number): MemoryRow[] {
  return workers.map((w): MemoryRow => {
    const from = (w.readyAt ?? w.startedAt) + warmupMs;
    const s = samplesOf(w).filter((m) => m.t >= from);
    const first: MemMessage | undefined = s[0];
    const last: MemMessage | undefined = s[s.length - 1];
    const windowMin = first && last ? (last.t - first.t) / 60_000 : 0;
    const perMin = (a: number, b: number) => (windowMin > 0 ? (b - a) / MB / windowMin : Number.NaN);
    const heapSlopePerMin = slope(s.map((m) => [(m.t - from) / 60_000, m.heapUsed / MB] as const));
    const heapPerMin = first && last ? perMin(first.heapUsed, last.heapUsed) : Number.NaN;
    let verdict: MemoryRow['verdict'] = 'too short';
    if (windowMin >= MIN_WINDOW_MIN && s.length >= 4) verdict = heapPerMin > LEAK_MB_PER_MIN && heapSlopePerMin > LEAK_MB_PER_MIN ? 'growing' : 'flat';
    return {
      name: w.name,
      slot: w.slot,
      protected: w.protected,
      fate: w.fate,
      lifetimeS: ((w.exitedAt ?? runEnd) - w.startedAt) / 1_000,
      samples: s.length,
      windowMin,
      heapFirstMB: first ? first.heapUsed / MB : Number.NaN,
      heapLastMB: last ? last.heapUsed / MB : Number.NaN,
      heapPerMin,
      heapSlopePerMin,
      rssFirstMB: first ? first.rss / MB : Number.NaN,
      rssLastMB: last ? last.rss / MB : Number.NaN,
      rssPerMin: first && last ? perMin(first.rss, last.rss) : Number.NaN,
      verdict,
    };
  });
}

function minuteRows(workers: readonly WorkerProc[], warmupMs: number, startedAt: number): MinuteRow[] {
  const buckets = new Map<number, { names: Set<string>; heap: number; rss: number; n: number }>();
  for (const w of workers) {
    const from = (w.readyAt ?? w.startedAt) + warmupMs;
    for (const m of samplesOf(w)) {
      if (m.t < from) continue;
      const minute = Math.floor((m.t - startedAt) / 60_000);
      const b = buckets.get(minute) ?? { names: new Set<string>(), heap: 0, rss: 0, n: 0 };
      b.names.add(w.name);
      b.heap += m.heapUsed;
      b.rss += m.rss;
      b.n++;
      buckets.set(minute, b);
    }
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([minute, b]) => ({ minute, workers: b.names.size, heapMB: b.heap / b.n / MB, rssMB: b.rss / b.n / MB }));
}

function shutdownOf(history: History, workers: readonly WorkerProc[]): Summary['shutdown'] {
  const stopped = new Set(workers.filter((w) => w.fate === 'stopped').map((w) => w.name));
  const exitCodes: Record<string, number> = {};
  let slowestMs = 0;
  for (const e of history.of('exit')) {
    if (!stopped.has(e.proc)) continue;
    const code = e.signal ?? String(e.code);
    exitCodes[code] = (exitCodes[code] ?? 0) + 1;
    if (e.stopRequestedAt !== undefined) slowestMs = Math.max(slowestMs, (e.t - e.stopRequestedAt) / 1_000);
  }
  return { stopped: stopped.size, exitCodes, slowestMs };
}

/** Runs (processor calls) from the history: per job, attempts and failures; runs a death cut short. */
function runsOf(history: History, died: (proc: string) => boolean) {
  const ends = new Map(history.of('run-end').map((e) => [e.id, e]));
  const perJob = new Map<string, { starts: number; oks: number }>();
  const failedAttempts = new Map<string, number>();
  const cut: Array<{ proc: string; queue: string; jobId: string }> = [];
  let refused = 0;
  for (const r of history.of('run')) {
    const job = `${r.queue}/${r.jobId}`;
    const tally = perJob.get(job) ?? { starts: 0, oks: 0 };
    perJob.set(job, tally);
    tally.starts++;
    const end = ends.get(r.id);
    if (!end) {
      if (died(r.proc)) cut.push({ proc: r.proc, queue: r.queue, jobId: r.jobId });
    } else if (end.ok) tally.oks++;
    else {
      const error = end.error ?? 'unknown error';
      if (error.startsWith('StaleWriteError')) refused++;
      const reason = `${r.queue}: ${error.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/\d+/g, 'N').slice(0, 140)}`;
      failedAttempts.set(reason, (failedAttempts.get(reason) ?? 0) + 1);
    }
  }
  return { perJob, failedAttempts, cut, refused };
}

/** Lock sections from the history: per org, ended by a death, left open, and each process's last completed one. */
function sectionsOf(history: History, died: (proc: string) => boolean) {
  const ends = new Map(history.of('section-end').map((e) => [e.id, e]));
  const perScope = new Map<string, number>();
  const openAtDeath = new Set<string>();
  const lastEnd = new Map<string, number>();
  let closedByDeath = 0;
  let stillOpen = 0;
  for (const s of history.of('section')) {
    perScope.set(s.scope, (perScope.get(s.scope) ?? 0) + 1);
    const end = ends.get(s.id);
    if (end) lastEnd.set(s.proc, Math.max(lastEnd.get(s.proc) ?? 0, end.t));
    else if (died(s.proc)) {
      closedByDeath++;
      openAtDeath.add(s.proc);
    } else stillOpen++;
  }
  const total = [...perScope.values()].reduce((a, b) => a + b, 0);
  return { total, orgs: perScope.size, closedByDeath, stillOpen, perOrgMax: Math.max(0, ...perScope.values()), openAtDeath, lastEnd };
}

export function analyze(input: AnalyzeInput): Summary {
  const { options, producer, events, collected, workers, history } = input;
  const X: QueueName = 'memory-extraction';
  const D: QueueName = 'memory-digest';
  const fates = new Map(workers.map((w) => [w.name, w.fate]));
  const died = (proc: string): boolean => fates.get(proc) === 'killed' || fates.get(proc) === 'crashed';

  // --- The guarantees: the harness checks on the history (no acknowledged extraction lost, no
  // two live holders of an org lock, fencing tokens and the store's order, no two live runs of
  // one job, latest digest data runs last, workers exit 0 when told to stop).
  const violations = checkAll({ history, storeLog: collected.storeLog, latestWinsQueues: LATEST_WINS_QUEUES });

  // --- BullMQ's view of the acknowledged jobs: completed (by event, or by state if the event was missed).
  const acked = ackedJobs(history, X);
  let completed = 0;
  let completedByReconcile = 0;
  const notCompleted: Summary['notCompleted'] = [];
  for (const jobId of acked) {
    if (events.completed[X].has(jobId)) {
      completed++;
      continue;
    }
    const r = collected.reconciled.get(jobId);
    if (r?.state === 'completed') {
      completed++;
      completedByReconcile++;
      continue;
    }
    notCompleted.push({ jobId, state: r?.state ?? 'unknown', reason: r?.failedReason ?? events.failed[X].get(jobId) ?? '' });
  }
  const failedForGood: Summary['failedForGood'] = [];
  for (const q of [X, D]) for (const [jobId, reason] of events.failed[q]) failedForGood.push({ queue: q, jobId, reason });

  // --- Runs: re-runs, duplicates, failed attempts, and runs a kill cut (each must have completed elsewhere).
  const runs = runsOf(history, died);
  const reruns = [...runs.perJob.values()].filter((t) => t.starts > 1).length;
  const dup = [...runs.perJob.values()].filter((t) => t.oks > 1);
  const completedAny = (c: { queue: string; jobId: string }): boolean =>
    (runs.perJob.get(`${c.queue}/${c.jobId}`)?.oks ?? 0) > 0 || (c.queue === X || c.queue === D ? events.completed[c.queue].has(c.jobId) : false) || collected.reconciled.get(c.jobId)?.state === 'completed';
  const missing = runs.cut.filter((c) => !completedAny(c)).map((c) => `${c.queue}/${c.jobId}`);

  // --- Lock sections, and what each kill cut.
  const sections = sectionsOf(history, died);
  const killDetails: KillDetail[] = input.kills.map((k) => {
    const death = history.exitOf(k.victim);
    const last = sections.lastEnd.get(k.victim);
    return {
      ...k,
      jobsInFlight: runs.cut.filter((c) => c.proc === k.victim).length,
      inSection: sections.openAtDeath.has(k.victim),
      lastSectionEndedMsBefore: Number.isFinite(death) && last !== undefined ? (death - last) / 1_000 : undefined,
    };
  });

  // --- Memory ----------------------------------------------------------------------------------
  const rows = memoryRows(workers, options.warmupMs, input.drainEndedAt);
  const judged = rows.filter((r) => r.verdict !== 'too short');
  const growing = judged.filter((r) => r.verdict === 'growing');
  let verdict: string;
  if (judged.length === 0) verdict = `inconclusive: no worker lived ${options.warmupMs / 1_000} s warm-up + ${MIN_WINDOW_MIN} min (run longer, or --protect 1)`;
  else if (growing.length > 0) verdict = `SUSPECT: post-GC heap grows > ${LEAK_MB_PER_MIN} MB/min in ${growing.map((r) => r.name).join(', ')}`;
  else {
    const worst = Math.max(...judged.map((r) => r.heapSlopePerMin));
    verdict = `no leak signal: post-GC heap of ${judged.length} worker(s) judged stays under ${LEAK_MB_PER_MIN} MB/min (max fitted slope ${worst >= 0 ? '+' : ''}${worst.toFixed(2)} MB/min)`;
  }

  const cache = { hits: 0, misses: 0, memoryHits: 0, providerCalls: 0, errors: 0 };
  for (const w of workers) {
    const last = samplesOf(w).at(-1);
    if (!last) continue;
    for (const k of Object.keys(cache) as Array<keyof typeof cache>) cache[k] += last.cache[k];
  }

  // --- Enqueue latency around kills -------------------------------------------------------------
  const killTimes = input.kills.map((k) => input.startedAt + k.at).sort((a, b) => a - b);
  const sinceKill = (t: number): number | undefined => {
    let last: number | undefined;
    for (const k of killTimes) if (k <= t) last = k;
    return last === undefined ? undefined : (t - last) / 1_000;
  };
  const calls = (['extraction', 'digest'] as const).flatMap((kind) => {
    const t = producer[kind];
    return t.latencies.map((ms, i) => ({ kind, ms, at: t.sentAt[i] ?? 0 }));
  });
  const slowEnqueues = [...calls]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10)
    .map((c) => ({ kind: c.kind, ms: c.ms, atS: (c.at - input.startedAt) / 1_000, sinceKillS: sinceKill(c.at) }));
  const latencyAwayFromKills = calls.filter((c) => c.kind === 'extraction' && !((sinceKill(c.at) ?? Number.POSITIVE_INFINITY) <= 3)).map((c) => c.ms);

  const extractionDone = [...events.completed[X].values()];
  const digestDone = [...events.completed[D].values()];
  const lastDone = Math.max(input.produceEndedAt, ...extractionDone, ...digestDone);
  const busyS = Math.max(0.001, (lastDone - producer.startedAt) / 1_000);
  return {
    options,
    durationMs: input.drainEndedAt - input.startedAt,
    produceMs: producer.endedAt - producer.startedAt,
    drainMs: input.drainEndedAt - input.produceEndedAt,
    drained: input.drained,
    interrupted: input.interrupted,
    producer,
    acked: acked.size,
    completed,
    completedByReconcile,
    digestRuns: digestDone.length,
    throughput: { overall: (extractionDone.length + digestDone.length) / busyS, extractionOnly: extractionDone.length / busyS },
    notCompleted,
    failedForGood,
    kills: killDetails,
    shutdown: shutdownOf(history, workers),
    crashes: workers.filter((w) => w.fate === 'crashed').map((w) => `${w.name} (code ${String(w.proc.exit?.code)}, signal ${String(w.proc.exit?.signal)})`),
    stalled: { [X]: events.stalled[X].length, [D]: events.stalled[D].length },
    interrupted_jobs: { total: runs.cut.length, recovered: runs.cut.length - missing.length, missing },
    reruns,
    duplicates: { jobs: dup.length, extraRuns: dup.reduce((n, t) => n + t.oks - 1, 0) },
    failedAttempts: runs.failedAttempts,
    sections: { total: sections.total, orgs: sections.orgs, closedByDeath: sections.closedByDeath, stillOpen: sections.stillOpen, perOrgMax: sections.perOrgMax },
    fence: { accepted: [...collected.storeLog.values()].reduce((n, log) => n + log.length, 0), refused: runs.refused, added: collected.memories },
    digestKeys: new Set(history.of('ack').filter((a) => a.queue === D).map((a) => a.key)).size,
    cache,
    memory: { rows, minutes: minuteRows(workers, options.warmupMs, input.startedAt), verdict, ok: growing.length === 0 },
    logCounts: [...input.logCounts.entries()].sort((a, b) => b[1] - a[1]),
    logRaw: input.logRaw,
    slowEnqueues,
    latencyAwayFromKills,
    diagnostics: input.diagnostics,
    violations,
    passed: violations.length === 0 && notCompleted.length === 0 && failedForGood.length === 0 && input.drained && !input.interrupted,
  };
}
