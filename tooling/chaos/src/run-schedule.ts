import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkAll,
  createRecorder,
  createRng,
  Fleet,
  History,
  nowUs,
  parseHistoryLine,
  type Fault,
  type FleetProc,
  type HistoryEvent,
  type Recorder,
  type Violation,
} from '@lota/fault-harness';
import { createLotaRuntime, type LotaRuntime } from '@lota/runtime';
import { Redis } from 'ioredis';
import type { PlannedFault, Schedule } from './schedule.js';
import { startTopology, type Topology } from './topology.js';
import { WORKER_CONFIG_ENV, type WorkerConfig } from './worker-config.js';

/** Queues whose jobs carry latest-wins data (a key and an increasing sequence number). */
export const LATEST_WINS_QUEUES = ['memory-digest', 'repo-indexing'] as const;

/** Bounds the producer and workers are held to (the checks read them from the history). */
const ENQUEUE_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 3_000;
const DISCONNECT_TIMEOUT_MS = 2_000;
/** How long acknowledged jobs get to complete after the faults are healed. */
const DRAIN_TIMEOUT_MS = Number(process.env.LOTA_CHAOS_DRAIN_MS ?? 15_000);

export interface RunScheduleOptions {
  /** The worker process script (dist/worker.js). */
  workerScript: string;
  /** The fenced store's Redis, shared by the schedules of a campaign (never faulted). */
  storeUrl: string;
  /** Self-check: sections run without the lock; the checks must find overlaps. */
  unsafeNoLock?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface ScheduleResult {
  seed: number;
  schedule: Schedule;
  violations: Violation[];
  /** The faults as injected (with their real start and end). */
  faults: Fault[];
  counts: { sections: number; runs: number; acks: number; effects: number; calls: number; stalls: number; processes: number };
  durationMs: number;
  /** Set when the schedule could not run at all (servers would not start...): not a violation of a guarantee. */
  error?: string;
  /** The raw history and every output, kept when a guarantee broke (for the failure report). */
  artifacts?: { history: HistoryEvent[]; outputs: Array<{ source: string; text: string }> };
}

interface Ctx {
  schedule: Schedule;
  history: History;
  fleet: Fleet;
  workers: FleetProc[];
  topology: Topology;
  prefix: string;
  startWorker: () => FleetProc;
  outputs: Array<{ source: string; text: string }>;
  /** Heals still pending (run at the end of the workload at the latest). */
  heals: Set<() => Promise<void>>;
}

/** Workers holding a lock section right now (a section without its end, per the history). */
function holders(ctx: Ctx): FleetProc[] {
  const ended = new Set(ctx.history.of('section-end').map((e) => e.id));
  const open = new Set(ctx.history.of('section').filter((s) => !ended.has(s.id)).map((s) => s.proc));
  return ctx.workers.filter((w) => !w.exit && open.has(w.name));
}

function pickWorker(ctx: Ctx, f: PlannedFault): FleetProc | undefined {
  const alive = ctx.workers.filter((w) => !w.exit);
  if (alive.length === 0) return undefined;
  const inside = f.preferHolder ? holders(ctx) : [];
  const pool = inside.length > 0 ? inside : alive;
  return pool[f.target % pool.length];
}

async function quietly(op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch {
    // a heal on something already gone
  }
}

/** Applies one fault; returns its heal (if it lasts) and records it in the history when healed. */
async function inject(ctx: Ctx, f: PlannedFault): Promise<void> {
  const t0 = nowUs();
  const record = (target: string, loses: Fault['loses'], detail?: string): void =>
    ctx.history.add({ k: 'fault', kind: f.kind, target, t0, t1: nowUs(), loses, ...(detail ? { detail } : {}) });
  const later = (heal: () => unknown, target: string, loses: Fault['loses'], detail?: string): void => {
    let healing: Promise<void> | undefined;
    // Runs the heal once; later calls (the end of the workload) wait for the same run.
    const run = (): Promise<void> =>
      (healing ??= (async () => {
        await quietly(async () => {
          await heal();
        });
        record(target, loses, detail);
        ctx.heals.delete(run);
      })());
    ctx.heals.add(run);
    setTimeout(() => void run(), f.durationMs);
  };
  switch (f.kind) {
    case 'worker-stop': {
      const w = pickWorker(ctx, f);
      if (!w) return;
      w.pause();
      later(() => w.cont(), w.name, [], `${f.durationMs} ms`);
      return;
    }
    case 'worker-kill': {
      const w = pickWorker(ctx, f);
      if (!w) return;
      w.kill();
      record(w.name, []);
      ctx.startWorker();
      return;
    }
    case 'worker-block':
    case 'worker-block-in-section': {
      const w = pickWorker(ctx, f);
      if (!w) return;
      w.send(`${f.kind === 'worker-block' ? 'block' : 'block-in-section'} ${f.durationMs}`);
      record(w.name, [], `${f.durationMs} ms`);
      return;
    }
    case 'redis-kill': {
      const server = ctx.topology.server;
      if (!server?.running) return; // killed already by an earlier fault, restart pending
      await server.kill();
      const loses: Fault['loses'] = ctx.schedule.persistence ? [] : ['queue', 'lock'];
      later(() => server.restart(), 'redis', loses, ctx.schedule.persistence ? 'AOF' : 'no persistence');
      return;
    }
    case 'redis-pause': {
      const server = ctx.topology.server;
      // A server an earlier fault killed (its restart pending) cannot be paused: not injected, not
      // recorded (found by the 500-schedule run: seeds 227, 450 and 469 stopped on it).
      if (!server?.running) return;
      await server.pause();
      later(() => server.resume(), 'redis', []);
      return;
    }
    case 'failover': {
      // Replication is asynchronous: the new master may not know a lease (lock data may be lost).
      // Enqueues wait for every replica (waitForReplicas), so no acknowledged job may be lost.
      const { killed, heal } = await ctx.topology.failover();
      later(heal, killed, ['lock'], `${ctx.schedule.topology} failover`);
      return;
    }
    case 'proxy-latency': {
      const p = ctx.topology.proxy;
      if (!p) return;
      const rng = createRng(ctx.schedule.seed + f.atMs);
      const ms = rng.int(20, 300);
      p.latency(ms, rng.int(0, 50));
      later(() => p.latency(0), 'proxy', [], `${ms} ms`);
      return;
    }
    case 'proxy-blackhole': {
      const p = ctx.topology.proxy;
      if (!p) return;
      // Bytes are held, as TCP would retransmit them across a partition shorter than its timeout.
      p.blackhole({ bytes: 'hold' });
      later(() => p.heal(), 'proxy', []);
      return;
    }
    case 'proxy-half-open': {
      const p = ctx.topology.proxy;
      if (!p) return;
      // Replies vanish; afterwards the connections are dead (reset), as a real half-open one ends.
      p.halfOpen({ bytes: 'drop' });
      later(
        () => {
          p.heal();
          p.reset();
        },
        'proxy',
        [],
      );
      return;
    }
    case 'proxy-reset': {
      ctx.topology.proxy?.reset();
      if (ctx.topology.proxy) record('proxy', []);
      return;
    }
    case 'proxy-refuse': {
      const p = ctx.topology.proxy;
      if (!p) return;
      p.refuse();
      later(() => p.heal(), 'proxy', []);
      return;
    }
    case 'flush-lock-keys': {
      const admin = ctx.topology.admin;
      if (!admin) return;
      const keys: string[] = [];
      await quietly(async () => {
        let cursor = '0';
        do {
          const [next, found] = await admin.scan(cursor, 'MATCH', `${ctx.prefix}:lock:*`, 'COUNT', 1_000);
          cursor = next;
          keys.push(...found);
        } while (cursor !== '0');
        if (keys.length > 0) await admin.del(...keys);
      });
      record('redis', ['lock'], `${keys.length} keys`);
      return;
    }
    case 'flushall': {
      const admin = ctx.topology.admin;
      if (!admin) return;
      await quietly(() => admin.flushall());
      record('redis', ['queue', 'lock']);
      return;
    }
  }
}

/** The producer: extraction jobs, debounced digests and latest-wins repo indexing, every acknowledgement recorded. */
async function produce(runtime: LotaRuntime, rec: Recorder, schedule: Schedule, until: number): Promise<void> {
  const rng = createRng(schedule.seed ^ 0x5eed);
  const seqs = new Map<string, number>();
  const next = (key: string): number => {
    const n = (seqs.get(key) ?? 0) + 1;
    seqs.set(key, n);
    return n;
  };
  let turn = 0;
  let sent = 0;
  const ack = (queue: string, r: { jobId: string; status: string }, extra: { key?: string; seq?: number } = {}): void =>
    rec.emit({ k: 'ack', proc: rec.proc, queue, jobId: r.jobId, status: r.status, t: nowUs(), sent, ...extra });
  while (nowUs() < until) {
    const orgId = rng.pick(schedule.orgs);
    const roll = rng.next();
    sent = nowUs();
    try {
      if (roll < 0.6) {
        const turnId = `t${++turn}`;
        const r = await rec.timed('enqueue', ENQUEUE_TIMEOUT_MS, () =>
          runtime.queues.enqueueMemoryExtraction({ orgId, workstreamId: 'ws', turnId, text: `turn ${turnId} of ${orgId}` }),
        );
        ack('memory-extraction', r);
      } else if (roll < 0.85) {
        const key = `${orgId}/ws`;
        const seq = next(`digest:${key}`);
        const r = await rec.timed('enqueue', ENQUEUE_TIMEOUT_MS, () => runtime.queues.scheduleMemoryDigest({ orgId, workstreamId: 'ws', seq }));
        ack('memory-digest', r, { key, seq });
      } else {
        const key = `${orgId}/repo`;
        const seq = next(`repo:${key}`);
        const r = await rec.timed('enqueue', ENQUEUE_TIMEOUT_MS, () => runtime.queues.enqueueRepoIndexing({ orgId, repoId: 'repo', seq }));
        ack('repo-indexing', r, { key, seq });
      }
    } catch {
      // Not acknowledged (Redis down, slow, refused): the call's bound is what is checked.
    }
    await sleep(rng.int(15, 60));
  }
}

/**
 * Acknowledged work not done yet (and not excused by a loss of queue data): jobs without a
 * successful run, and, on latest-wins queues, keys whose last acknowledged data has not run.
 */
function pendingAcks(history: History): number {
  const ok = new Set(history.of('run-end').filter((e) => e.ok).map((e) => e.id));
  const okRuns = history.of('run').filter((r) => ok.has(r.id));
  const done = new Set(okRuns.map((r) => `${r.queue}/${r.jobId}`));
  const ranSeq = new Map<string, number>();
  for (const r of okRuns) if (r.key !== undefined) ranSeq.set(`${r.queue}/${r.key}`, Math.max(ranSeq.get(`${r.queue}/${r.key}`) ?? 0, r.seq ?? 0));
  const lastSeq = new Map<string, number>();
  let pending = 0;
  for (const a of history.of('ack')) {
    if (history.lossBetween('queue', a.t, Number.POSITIVE_INFINITY)) continue;
    if ((LATEST_WINS_QUEUES as readonly string[]).includes(a.queue)) {
      if (a.key !== undefined && a.seq !== undefined) lastSeq.set(`${a.queue}/${a.key}`, Math.max(lastSeq.get(`${a.queue}/${a.key}`) ?? 0, a.seq));
    } else if (!done.has(`${a.queue}/${a.jobId}`)) pending++;
  }
  for (const [key, seq] of lastSeq) if ((ranSeq.get(key) ?? 0) < seq) pending++;
  return pending;
}

/** Runs one schedule from start to checked result; everything it started is stopped before it returns. */
export async function runSchedule(schedule: Schedule, opts: RunScheduleOptions): Promise<ScheduleResult> {
  const started = nowUs();
  const log = opts.log ?? (() => undefined);
  const phase = (what: string): void => {
    if (process.env.LOTA_CHAOS_VERBOSE === '1') log(`seed ${schedule.seed}: ${what} at ${((nowUs() - started) / 1000).toFixed(0)} ms`);
  };
  const history = new History();
  const fleet = new Fleet(history);
  const prefix = `c${schedule.seed}`;
  const producerLines: string[] = [];
  let topology: Topology | undefined;
  let producer: LotaRuntime | undefined;
  const result = (violations: Violation[], error?: string): ScheduleResult => ({
    seed: schedule.seed,
    schedule,
    violations,
    faults: history.of('fault'),
    counts: {
      sections: history.of('section').length,
      runs: history.of('run').length,
      acks: history.of('ack').length,
      effects: history.of('effect').length,
      calls: history.of('call').length,
      stalls: history.of('stall').length,
      processes: fleet.procs.length,
    },
    durationMs: (nowUs() - started) / 1000,
    ...(error ? { error } : {}),
  });
  try {
    const jitter = createRng(schedule.seed);
    topology = await startTopology(schedule, prefix, () => jitter.next());
    const topo = topology;
    let n = 0;
    const startWorker = (): FleetProc => {
      const name = `w${++n}`;
      const config: WorkerConfig = {
        name,
        redis: topo.workerTarget,
        password: schedule.password,
        storeUrl: opts.storeUrl,
        keyPrefix: prefix,
        lockScopes: schedule.lockScopes,
        lockLoops: schedule.lockLoops,
        lockTtlMs: schedule.lockTtlMs,
        acquireTimeoutMs: schedule.acquireTimeoutMs,
        jobLockMs: schedule.jobLockMs,
        stalledIntervalMs: 500,
        digestDebounceMs: 300,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        disconnectTimeoutMs: DISCONNECT_TIMEOUT_MS,
        chunks: 6,
        chunkMs: 40,
        concurrency: 3,
        embeddingDimensions: 8,
        unsafeNoLock: opts.unsafeNoLock ?? false,
      };
      const proc = fleet.start({ name, script: opts.workerScript, env: { [WORKER_CONFIG_ENV]: JSON.stringify(config) } });
      ctx.workers.push(proc);
      return proc;
    };
    const ctx: Ctx = { schedule, history, fleet, workers: [], topology: topo, prefix, startWorker, outputs: [], heals: new Set() };
    for (let i = 0; i < schedule.workers; i++) startWorker();

    const rec = createRecorder('producer', (line) => {
      const event = parseHistoryLine(line);
      if (event) history.add(event);
    });
    const capture = (level: string) => (fields: Record<string, unknown>, msg: string) => void producerLines.push(JSON.stringify({ level, msg, ...fields }));
    // On Cluster/Sentinel every enqueue waits for every replica: then none acknowledged may be lost in a failover.
    const durable = topo.replicas > 0 ? { waitForReplicas: topo.replicas, waitForReplicasTimeoutMs: 500 } : {};
    producer = await createLotaRuntime({
      redis: { ...topo.producerTarget, password: schedule.password, keyPrefix: prefix, connectTimeoutMs: CONNECT_TIMEOUT_MS, connectionName: 'chaos-producer' },
      queues: {
        enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS,
        policies: { 'memory-extraction': durable, 'memory-digest': { debounceMs: 300, ...durable }, 'repo-indexing': durable },
      },
      logger: { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') },
    });
    const live = producer;
    await rec.timed('connect', CONNECT_TIMEOUT_MS + 500, () => live.connect());
    await Promise.all(ctx.workers.map((w) => w.message((m) => m.event === 'ready', 20_000)));
    log(`seed ${schedule.seed}: ${schedule.workers} workers, ${schedule.proxy ? 'proxy, ' : ''}${schedule.persistence ? 'AOF' : 'no persistence'}; faults ${schedule.faults.map((f) => `${f.kind}@${f.atMs}`).join(', ')}`);

    phase('workload');
    // Workload and faults.
    const begin = nowUs();
    const until = begin + schedule.workloadMs * 1000;
    const faultRuns = schedule.faults.map(async (f) => {
      await sleep(f.atMs);
      await inject(ctx, f);
    });
    await Promise.all([produce(producer, rec, schedule, until), ...faultRuns]);
    for (const heal of [...ctx.heals]) await heal();
    for (const w of ctx.workers) w.cont();

    phase('drain');
    // Drain: every acknowledged job must complete (unless a fault lost queue data after it).
    const drainUntil = nowUs() + DRAIN_TIMEOUT_MS * 1000;
    while (pendingAcks(history) > 0 && nowUs() < drainUntil) await sleep(100);

    phase('stop');
    // Stop: the producer, then every worker, which must exit by itself.
    await rec.timed('disconnect', DISCONNECT_TIMEOUT_MS, () => live.disconnect({ timeoutMs: DISCONNECT_TIMEOUT_MS })).catch(() => undefined);
    producer = undefined;
    const stopBound = schedule.acquireTimeoutMs + DISCONNECT_TIMEOUT_MS + 1_000;
    for (const w of fleet.alive()) w.requestStop(stopBound);
    const hardStop = sleep(stopBound + 3_000).then(() => {
      for (const w of fleet.alive()) w.terminate();
    });
    await Promise.race([Promise.all(fleet.procs.map((p) => p.exited)), hardStop]);
    await Promise.all(fleet.procs.map((p) => p.exited));

    phase('collect');
    const storeClient = new Redis(opts.storeUrl, { maxRetriesPerRequest: 1 });
    let storeLog: Map<string, number[]>;
    try {
      const scopes = [...new Set(history.of('section').map((s) => s.scope))];
      const keys = (scope: string): string => `${prefix}:store:{${scope}}:accepted`;
      storeLog = new Map();
      for (const scope of scopes) storeLog.set(scope, (await storeClient.lrange(keys(scope), 0, -1)).map(Number));
    } finally {
      storeClient.disconnect();
    }
    const outputs = [
      ...fleet.procs.map((p) => ({ source: p.name, text: p.output.join('\n') })),
      { source: 'producer', text: producerLines.join('\n') },
      { source: 'history', text: JSON.stringify(history.events) },
    ];
    const violations = checkAll({ history, storeLog, latestWinsQueues: LATEST_WINS_QUEUES, outputs, secrets: [schedule.password] });
    return { ...result(violations), ...(violations.length > 0 ? { artifacts: { history: history.events, outputs: outputs.filter((o) => o.source !== 'history') } } : {}) };
  } catch (err) {
    return result([], err instanceof Error ? (err.stack ?? err.message) : String(err));
  } finally {
    phase('cleanup');
    if (producer) await producer.disconnect({ timeoutMs: 1_000 }).catch(() => undefined);
    await fleet.killAll();
    phase('workers gone');
    await topology?.dispose().catch(() => undefined);
    phase('redis disposed');
  }
}
