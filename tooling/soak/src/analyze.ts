import type { MemMessage, WorkerProc } from './fleet.js';
import type { SoakOptions } from './options.js';
import type { ProducerResult } from './producer.js';
import { MB, slope } from './stats.js';

export type QueueName = 'memory-extraction' | 'memory-digest';

/** What the driver's QueueEvents saw (BullMQ's own event stream: written atomically with each move). */
export interface EventLog {
  /** jobId -> Date.now() when the 'completed' event arrived. */
  completed: Record<QueueName, Map<string, number>>;
  /** jobId -> failedReason, for jobs that failed for good. */
  failed: Record<QueueName, Map<string, string>>;
  /** jobIds BullMQ's stalled check moved back to wait (one entry per recovery). */
  stalled: Record<QueueName, string[]>;
}

/** Everything read back from Redis after the drain. */
export interface Collected {
  runLog: string[];
  /** org -> "<worker>|<token>|<jobId>|<enteredUs>|<leftUs>" lines. */
  intervals: Map<string, string[]>;
  /** org -> open sections: "<worker>|<token>" -> "<jobId>|<enteredUs>". */
  open: Map<string, Record<string, string>>;
  /** JSON lines the probe wrote when it found a live holder inside at entry. */
  probeOverlaps: string[];
  counters: Record<string, string>;
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
  /** Jobs the victim had started and not finished (their runs were cut). */
  jobsInFlight: number;
  /** The victim was inside an org lock section when it died. */
  inSection: boolean;
  /** ms between the victim's last completed section and its death mark. */
  lastSectionEndedMsBefore: number | undefined;
}

export interface Section {
  org: string;
  worker: string;
  token: number;
  jobId: string;
  startUs: number;
  endUs: number;
  /** How the section ended: its holder left, or its process died inside (ends at the death mark). */
  end: 'left' | 'died' | 'unknown';
}

export interface Overlap {
  org: string;
  a: Section;
  b: Section;
  /** How long both were inside, in ms. */
  overlapMs: number;
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
  acked: number;
  completed: number;
  completedByReconcile: number;
  digestRuns: number;
  throughput: { overall: number; extractionOnly: number };
  lost: Array<{ jobId: string; state: string; reason: string }>;
  failedForGood: Array<{ queue: QueueName; jobId: string; reason: string }>;
  kills: KillDetail[];
  crashes: string[];
  /** Workers stopped with SIGTERM at the end: exit codes and the slowest stop. */
  shutdown: { stopped: number; exitCodes: Record<string, number>; slowestMs: number };
  stalled: Record<QueueName, number>;
  interrupted_jobs: { total: number; recovered: number; missing: string[] };
  reruns: number;
  duplicates: { jobs: number; extraRuns: number; explained: number; unexplained: string[] };
  failedAttempts: Map<string, number>;
  sections: { total: number; orgs: number; closedByDeath: number; stillOpen: number; perOrgMax: number; tokenOrderViolations: number };
  overlaps: { probe: string[]; intervals: Overlap[] };
  /** Every lock section, for results/latest-lock-intervals.jsonl. */
  sectionList: Section[];
  fence: { accepted: number; refused: number; added: number };
  digest: { workstreams: number; latestDigested: number; misses: Array<{ key: string; lastSeq: number; digested: number[] }> };
  cache: { hits: number; misses: number; memoryHits: number; providerCalls: number; errors: number };
  memory: { rows: MemoryRow[]; minutes: MinuteRow[]; verdict: string; ok: boolean };
  logCounts: Array<[string, number]>;
  logRaw: number;
  /** The slowest enqueue calls, with the time since the nearest earlier kill (a replacement worker starting competes for the CPU). */
  slowEnqueues: Array<{ kind: 'extraction' | 'digest'; ms: number; atS: number; sinceKillS: number | undefined }>;
  /** Extraction enqueue latencies of calls made more than 3 s after any kill. */
  latencyAwayFromKills: number[];
  diagnostics: Diagnostics;
  passed: boolean;
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

function parseSection(org: string, raw: string, end: Section['end'], endUs?: number): Section | undefined {
  const [worker = '', token = '', jobId = '', start = '', left = ''] = raw.split('|');
  const startUs = Number(start);
  const stop = endUs ?? Number(left);
  if (!Number.isFinite(startUs)) return undefined;
  return { org, worker, token: Number(token), jobId, startUs, endUs: Number.isFinite(stop) ? stop : Number.POSITIVE_INFINITY, end };
}

/** Sections of one org that overlap in Redis time: sorted by entry, each must start after every earlier one ended. */
export function findOverlaps(sections: readonly Section[]): Overlap[] {
  const out: Overlap[] = [];
  const sorted = [...sections].sort((a, b) => a.startUs - b.startUs);
  let latest: Section | undefined;
  for (const s of sorted) {
    if (latest && s.startUs < latest.endUs) {
      out.push({ org: s.org, a: latest, b: s, overlapMs: (Math.min(latest.endUs, s.endUs) - s.startUs) / 1_000 });
    }
    if (!latest || s.endUs > latest.endUs) latest = s;
  }
  return out;
}

function memoryRows(workers: readonly WorkerProc[], warmupMs: number, runEnd: number): MemoryRow[] {
  return workers.map((w): MemoryRow => {
    const from = (w.readyAt ?? w.startedAt) + warmupMs;
    const s = w.samples.filter((m) => m.t >= from);
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
    for (const m of w.samples) {
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

function shutdownOf(workers: readonly WorkerProc[]): Summary['shutdown'] {
  const stopped = workers.filter((w) => w.fate === 'stopped');
  const exitCodes: Record<string, number> = {};
  let slowestMs = 0;
  for (const w of stopped) {
    const code = w.exitSignal ?? String(w.exitCode);
    exitCodes[code] = (exitCodes[code] ?? 0) + 1;
    if (w.exitedAt !== undefined && w.stopRequestedAt !== undefined) slowestMs = Math.max(slowestMs, w.exitedAt - w.stopRequestedAt);
  }
  return { stopped: stopped.length, exitCodes, slowestMs };
}

export function analyze(input: AnalyzeInput): Summary {
  const { options, producer, events, collected, workers } = input;
  const X: QueueName = 'memory-extraction';
  const D: QueueName = 'memory-digest';
  const procByName = new Map(workers.map((w) => [w.name, w]));
  const died = (name: string) => {
    const fate = procByName.get(name)?.fate;
    return fate === 'killed' || fate === 'crashed';
  };

  // --- Jobs: acknowledged vs completed ------------------------------------------------------
  let completed = 0;
  let completedByReconcile = 0;
  const lost: Summary['lost'] = [];
  for (const jobId of producer.ackedExtraction) {
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
    lost.push({ jobId, state: r?.state ?? 'unknown', reason: r?.failedReason ?? events.failed[X].get(jobId) ?? '' });
  }
  const failedForGood: Summary['failedForGood'] = [];
  for (const q of [X, D]) for (const [jobId, reason] of events.failed[q]) failedForGood.push({ queue: q, jobId, reason });

  // --- Run log: starts, successes, failed attempts per job; in-flight per worker ---------------
  const runs = new Map<string, { starts: string[]; dones: string[] }>();
  const inflight = new Map<string, Set<string>>();
  const failedAttempts = new Map<string, number>();
  const digested = new Map<string, Set<number>>();
  for (const line of collected.runLog) {
    const [kind = '', queue = '', jobId = '', worker = '', ...rest] = line.split('|');
    const detail = rest.join('|');
    const key = `${queue}|${jobId}`;
    const r = runs.get(key) ?? { starts: [], dones: [] };
    runs.set(key, r);
    const mine = inflight.get(worker) ?? new Set<string>();
    inflight.set(worker, mine);
    if (kind === 'S') {
      r.starts.push(worker);
      mine.add(key);
    } else {
      mine.delete(key);
      if (kind === 'D') {
        r.dones.push(worker);
        if (queue === D) {
          const [org = '', ws = '', seq = ''] = detail.split('|');
          const k = `${org}|${ws}`;
          const set = digested.get(k) ?? new Set<number>();
          set.add(Number(seq));
          digested.set(k, set);
        }
      } else if (kind === 'F') {
        const reason = `${queue}: ${detail.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/\d+/g, 'N').slice(0, 140)}`;
        failedAttempts.set(reason, (failedAttempts.get(reason) ?? 0) + 1);
      }
    }
  }
  let reruns = 0;
  const dupJobs: string[] = [];
  let extraRuns = 0;
  let explained = 0;
  const unexplained: string[] = [];
  for (const [key, r] of runs) {
    if (r.starts.length > 1) reruns++;
    if (r.dones.length > 1) {
      dupJobs.push(key);
      extraRuns += r.dones.length - 1;
      // At-least-once: a run finished, but its process died before BullMQ recorded the completion.
      if (r.dones.slice(0, -1).every(died)) explained++;
      else unexplained.push(`${key} (runs on ${r.dones.join(', ')})`);
    }
  }
  // Jobs a killed worker was running when it died: BullMQ must have recovered each (stalled) and completed it elsewhere.
  const interruptedKeys: string[] = [];
  for (const [worker, keys] of inflight) if (died(worker)) interruptedKeys.push(...keys);
  const completedAny = (key: string): boolean => {
    const [queue = '', jobId = ''] = key.split('|');
    const done: Map<string, number> | undefined = queue === X || queue === D ? events.completed[queue] : undefined;
    return (done?.has(jobId) ?? false) || collected.reconciled.get(jobId)?.state === 'completed' || (runs.get(key)?.dones.length ?? 0) > 0;
  };
  const missing = interruptedKeys.filter((k) => !completedAny(k));

  // --- Lock sections ---------------------------------------------------------------------------
  const deathUs = new Map(workers.map((w) => [w.name, w.deathUs]));
  const sections: Section[] = [];
  let closedByDeath = 0;
  let stillOpen = 0;
  let perOrgMax = 0;
  let tokenOrderViolations = 0;
  const byOrg = new Map<string, Section[]>();
  for (const [org, lines] of collected.intervals) {
    const list = lines.map((l) => parseSection(org, l, 'left')).filter((s): s is Section => s !== undefined);
    byOrg.set(org, list);
  }
  for (const [org, open] of collected.open) {
    const list = byOrg.get(org) ?? [];
    for (const [field, value] of Object.entries(open)) {
      const [worker = ''] = field.split('|');
      const death = deathUs.get(worker);
      const s = parseSection(org, `${field}|${value}|`, death === undefined ? 'unknown' : 'died', death);
      if (!s) continue;
      if (death === undefined) stillOpen++;
      else closedByDeath++;
      list.push(s);
    }
    byOrg.set(org, list);
  }
  const killDetails: KillDetail[] = input.kills.map((k) => {
    const death = deathUs.get(k.victim);
    const mine = [...byOrg.values()].flat().filter((sec) => sec.worker === k.victim);
    const ended = mine.filter((sec) => sec.end === 'left').map((sec) => sec.endUs);
    const lastEnd = ended.length ? Math.max(...ended) : undefined;
    return {
      ...k,
      jobsInFlight: inflight.get(k.victim)?.size ?? 0,
      inSection: mine.some((sec) => sec.end === 'died'),
      lastSectionEndedMsBefore: death !== undefined && lastEnd !== undefined ? (death - lastEnd) / 1_000 : undefined,
    };
  });
  const intervalOverlaps: Overlap[] = [];
  for (const list of byOrg.values()) {
    sections.push(...list);
    perOrgMax = Math.max(perOrgMax, list.length);
    intervalOverlaps.push(...findOverlaps(list));
    const sorted = [...list].sort((a, b) => a.startUs - b.startUs);
    for (let i = 1; i < sorted.length; i++) if ((sorted[i]?.token ?? 0) <= (sorted[i - 1]?.token ?? 0)) tokenOrderViolations++;
  }

  // --- Digest: was each workstream's last acknowledged schedule digested? ------------------------
  const misses: Summary['digest']['misses'] = [];
  for (const [key, lastSeq] of producer.lastDigestSeq) {
    const seen = digested.get(key);
    if (!seen?.has(lastSeq)) misses.push({ key, lastSeq, digested: [...(seen ?? [])].sort((a, b) => b - a).slice(0, 5) });
  }

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
    const last = w.samples[w.samples.length - 1];
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
  const overlapsTotal = collected.probeOverlaps.length + intervalOverlaps.length;
  return {
    options,
    durationMs: input.drainEndedAt - input.startedAt,
    produceMs: producer.endedAt - producer.startedAt,
    drainMs: input.drainEndedAt - input.produceEndedAt,
    drained: input.drained,
    interrupted: input.interrupted,
    producer,
    acked: producer.ackedExtraction.size,
    completed,
    completedByReconcile,
    digestRuns: digestDone.length,
    throughput: { overall: (extractionDone.length + digestDone.length) / busyS, extractionOnly: extractionDone.length / busyS },
    lost,
    failedForGood,
    kills: killDetails,
    shutdown: shutdownOf(workers),
    crashes: workers.filter((w) => w.fate === 'crashed').map((w) => `${w.name} (code ${String(w.exitCode)}, signal ${String(w.exitSignal)})`),
    stalled: { [X]: events.stalled[X].length, [D]: events.stalled[D].length },
    interrupted_jobs: { total: interruptedKeys.length, recovered: interruptedKeys.length - missing.length, missing },
    reruns,
    duplicates: { jobs: dupJobs.length, extraRuns, explained, unexplained },
    failedAttempts,
    sections: { total: sections.length, orgs: byOrg.size, closedByDeath, stillOpen, perOrgMax, tokenOrderViolations },
    overlaps: { probe: collected.probeOverlaps, intervals: intervalOverlaps },
    sectionList: sections,
    fence: { accepted: Number(collected.counters.accepted ?? 0), refused: Number(collected.counters.refused ?? 0), added: Number(collected.counters.added ?? 0) },
    digest: { workstreams: producer.lastDigestSeq.size, latestDigested: producer.lastDigestSeq.size - misses.length, misses },
    cache,
    memory: { rows, minutes: minuteRows(workers, options.warmupMs, input.startedAt), verdict, ok: growing.length === 0 },
    logCounts: [...input.logCounts.entries()].sort((a, b) => b[1] - a[1]),
    logRaw: input.logRaw,
    slowEnqueues,
    latencyAwayFromKills,
    diagnostics: input.diagnostics,
    passed: lost.length === 0 && failedForGood.length === 0 && overlapsTotal === 0 && input.drained && !input.interrupted,
  };
}
