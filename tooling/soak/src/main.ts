import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createRecorder, createRng, FencedStore, History, parseHistoryLine } from '@lota/fault-harness';
import { parseInfo, startRedis, type RedisServer } from '@lota/redis-testkit';
import { createLotaRuntime, type LotaRuntime } from '@lota/runtime';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { ackedJobs, analyze, type Collected, type Diagnostics, type EventLog, type Kill, type QueueName } from './analyze.js';
import type { WorkerConfig } from './config.js';
import { samplesOf, SoakFleet, type WorkerProc } from './fleet.js';
import { soakKeys, type SoakKeys } from './keys.js';
import { jsonLogger } from './log.js';
import { parseOptions, UsageError, USAGE, type SoakOptions } from './options.js';
import { produce, type ProducerResult } from './producer.js';
import { markdown, summaryLines } from './render.js';
import { fmtDuration } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKER_SCRIPT = join(HERE, 'worker.js');
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
const KEY_PREFIX = 'soak';
const QUEUES: readonly QueueName[] = ['memory-extraction', 'memory-digest'];
const PENDING = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

const out = (text = ''): void => void process.stdout.write(`${text}\n`);
const log = (text: string): void => void process.stderr.write(`[soak] ${text}\n`);

/** Everything this run started, so that every exit path stops it. */
interface Resources {
  redis?: RedisServer;
  admin?: Redis;
  runtime?: LotaRuntime;
  queueEvents: QueueEvents[];
  fleet?: SoakFleet;
}

function workerConfig(o: SoakOptions, redisUrl: string): WorkerConfig {
  return {
    redisUrl,
    keyPrefix: KEY_PREFIX,
    extractionConcurrency: o.concurrency,
    digestConcurrency: Math.max(1, Math.floor(o.concurrency / 2)),
    digestDebounceMs: o.digestDebounceMs,
    lockDurationMs: o.lockDurationMs,
    stalledIntervalMs: o.stalledIntervalMs,
    maxStalledCount: o.maxStalledCount,
    orgLockTtlMs: o.orgLockTtlMs,
    orgLockAcquireTimeoutMs: 30_000,
    modelDelayMinMs: 50,
    modelDelayMaxMs: 250,
    inLockDelayMinMs: 10,
    inLockDelayMaxMs: 50,
    embeddingLatencyMs: 15,
    embeddingDimensions: 64,
    memorySampleMs: o.memorySampleMs,
    shutdownTimeoutMs: 8_000,
    unsafeNoLock: o.unsafeNoLock,
  };
}

/** Resolves with `promise`, or rejects after `ms` (Redis gone: BullMQ's client would wait for it forever). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles within `ms` whatever happens: for cleanup steps. */
async function bounded(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  await within(Promise.resolve(promise), ms, 'cleanup').catch(() => undefined);
}

function clock(startedAt: number): string {
  return fmtDuration(Date.now() - startedAt);
}

async function collect(admin: Redis, keys: SoakKeys, runtime: LotaRuntime, history: History, events: EventLog, orgs: number): Promise<Collected> {
  const scopes = [...new Set(history.of('section').map((s) => s.scope))];
  const storeLog = await new FencedStore(admin, keys.store).acceptedLog(scopes);
  const lengths = await Promise.all(Array.from({ length: orgs }, (_, i) => admin.hlen(keys.memories(`org-${i + 1}`))));
  // Acknowledged jobs whose 'completed' event never arrived: ask Redis for their state now.
  const reconciled = new Map<string, { state: string; failedReason?: string }>();
  const queue = runtime.queues.getQueue('memory-extraction');
  for (const jobId of ackedJobs(history, 'memory-extraction')) {
    if (events.completed['memory-extraction'].has(jobId)) continue;
    const state = await queue.getJobState(jobId);
    const job = state === 'failed' ? await queue.getJob(jobId) : undefined;
    reconciled.set(jobId, job?.failedReason ? { state, failedReason: job.failedReason } : { state });
  }
  return { storeLog, memories: lengths.reduce((a, b) => a + b, 0), reconciled };
}

/** The workers' stderr (and any stray stdout), prefixed with their names: for results/latest-workers.log. */
function workerLogLines(fleet: SoakFleet | undefined): string[] {
  return (fleet?.workers ?? []).flatMap((w) => w.proc.output.map((line) => `[${w.name}] ${line}`));
}

/** Worker log lines by "<level> <msg>", and how many were not JSON (stack traces of a crash, and the like). */
function countLogs(fleet: SoakFleet): { byMessage: Map<string, number>; raw: number } {
  const byMessage = new Map<string, number>();
  let raw = 0;
  for (const w of fleet.workers) {
    for (const line of w.proc.output) {
      try {
        const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
        const key = `${String(entry.level)} ${String(entry.msg)}`;
        byMessage.set(key, (byMessage.get(key) ?? 0) + 1);
      } catch {
        raw++;
      }
    }
  }
  return { byMessage, raw };
}

/** Warnings Redis logged while serving (slow AOF fsync, memory...), not the start-up notes before "Ready to accept connections". */
function runtimeWarnings(log: string): string[] {
  const lines = log.split('\n');
  const ready = lines.findIndex((l) => l.includes('Ready to accept connections'));
  return lines.slice(ready + 1).filter((l) => /WARNING|fsync|slow|latency/i.test(l));
}

async function main(): Promise<number> {
  let options: SoakOptions | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      log(err.message);
      out(USAGE);
      return 2;
    }
    throw err;
  }
  if (!options) {
    out(USAGE);
    return 0;
  }
  const o = options;
  if (process.env.REDIS_URL) {
    log('REDIS_URL is ignored: the soak always starts (and checks) its own private redis-server.');
    delete process.env.REDIS_URL;
  }

  const res: Resources = { queueEvents: [] };
  const interrupt = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      log(`${sig}: stopping the run; cleaning up (press Ctrl-C again to kill everything at once)`);
      interrupt.abort();
      return;
    }
    log(`${sig} again: SIGKILL to every worker, exiting`);
    res.fleet?.terminateAll();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever ends this process, no worker outlives it (the testkit's own hook and reaper stop redis-server).
  process.on('exit', () => res.fleet?.terminateAll());

  const rng = createRng(o.seed);
  // Everything the workers and the producer do, and what the driver does to them (harness clock).
  const history = new History();
  const startedAt = Date.now();
  const stopChaos = new AbortController();
  let chaosDone: Promise<void> = Promise.resolve();
  const kills: Kill[] = [];
  const events: EventLog = {
    completed: { 'memory-extraction': new Map(), 'memory-digest': new Map() },
    failed: { 'memory-extraction': new Map(), 'memory-digest': new Map() },
    stalled: { 'memory-extraction': [], 'memory-digest': [] },
  };

  try {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const redis = await startRedis({ appendOnly: true });
    res.redis = redis;
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    admin.on('error', () => undefined);
    res.admin = admin;
    const redisVersion = parseInfo(await admin.info('server')).redis_version ?? '?';
    log(`redis-server ${redisVersion} (${redis.backend}, appendonly yes) at ${redis.url}${redis.pid ? `, pid ${redis.pid}` : ''}`);

    // Redis records any event (command, AOF write/fsync, fork...) of 50 ms or more: LATENCY LATEST at the end.
    await admin.config('SET', 'latency-monitor-threshold', '50');

    const keys = soakKeys(KEY_PREFIX);
    const runtime = await createLotaRuntime({
      redis: { url: redis.url, keyPrefix: KEY_PREFIX, connectionName: 'soak:producer' },
      queues: { policies: { 'memory-digest': { debounceMs: o.digestDebounceMs } } },
      logger: jsonLogger({ process: 'producer' }, 'warn'),
    });
    res.runtime = runtime;
    await runtime.connect();

    for (const name of QUEUES) {
      const qe = new QueueEvents(name, {
        connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null },
        prefix: runtime.queues.getQueue(name).opts.prefix ?? KEY_PREFIX,
        lastEventId: '0', // a fresh server: read the stream from its start, nothing can be missed before the first XREAD
      });
      qe.on('completed', ({ jobId }) => events.completed[name].set(jobId, Date.now()));
      qe.on('failed', ({ jobId, failedReason }) => events.failed[name].set(jobId, failedReason));
      qe.on('stalled', ({ jobId }) => events.stalled[name].push(jobId));
      qe.on('error', (err: Error) => log(`QueueEvents(${name}) error: ${err.message}`));
      res.queueEvents.push(qe);
      await qe.waitUntilReady();
    }

    const fleet = new SoakFleet(history, {
      script: WORKER_SCRIPT,
      config: workerConfig(o, redis.url),
      onCrash: (w: WorkerProc) => {
        log(`${w.name} exited on its own (code ${String(w.proc.exit?.code)}, signal ${String(w.proc.exit?.signal)}); see results/latest-workers.log`);
        if (!stopChaos.signal.aborted && !interrupt.signal.aborted) fleet.start(w.slot, w.protected);
      },
    });
    res.fleet = fleet;
    if (o.unsafeNoLock) log('--unsafe-no-lock: workers run their sections WITHOUT the org lock; this run must report overlaps and fail');
    log(`starting ${o.workers} workers (lockDuration ${o.lockDurationMs} ms, stalledInterval ${o.stalledIntervalMs} ms, org lock ttl ${o.orgLockTtlMs} ms), seed ${o.seed}`);
    const first = Array.from({ length: o.workers }, (_, i) => fleet.start(i + 1, i < o.protect));
    await Promise.all(first.map((p) => p.ready));
    interrupt.signal.throwIfAborted();

    // --- Chaos: SIGKILL a random (unprotected, ready) worker every ~kill-every, and replace it.
    if (o.killEveryMs > 0) {
      chaosDone = (async () => {
        for (;;) {
          try {
            await sleep(o.killEveryMs * (0.5 + rng.next()), undefined, { signal: stopChaos.signal });
          } catch {
            return;
          }
          const candidates = fleet.alive().filter((p) => !p.protected && p.fate === 'running' && p.readyAt !== undefined);
          if (candidates.length === 0) continue;
          const victim = rng.pick(candidates);
          const at = Date.now() - startedAt;
          await fleet.kill(victim);
          const replacement = fleet.start(victim.slot, false);
          kills.push({ victim: victim.name, at, replacement: replacement.name });
          log(`${clock(startedAt)} SIGKILL ${victim.name} (pid ${String(victim.proc.pid)}), started ${replacement.name}`);
        }
      })();
    }

    // --- Produce, with a progress line every 10 s.
    const progress = setInterval(() => {
      const done = events.completed['memory-extraction'].size;
      log(
        `${clock(startedAt)} completed ${done} extraction + ${events.completed['memory-digest'].size} digest, workers ${fleet.alive().length}, kills ${kills.length}, stalled ${events.stalled['memory-extraction'].length + events.stalled['memory-digest'].length}`,
      );
    }, 10_000);
    log(`producing ${o.turns} turns over ${o.minutes} min (${(o.turns / (o.minutes * 60)).toFixed(1)} turns/s) across ${o.orgs} orgs x ${o.workstreams} workstreams`);
    let producer: ProducerResult;
    const producerRec = createRecorder('producer', (line) => {
      const event = parseHistoryLine(line);
      if (event) history.add(event);
    });
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    try {
      producer = await produce(runtime.queues, o, rng, producerRec, interrupt.signal);
    } finally {
      loopDelay.disable();
      stopChaos.abort();
      await chaosDone;
    }
    const produceEndedAt = Date.now();
    log(`${clock(startedAt)} produced ${producer.turns} turns; ${ackedJobs(history, 'memory-extraction').size} extraction jobs acknowledged; draining (up to ${o.drainTimeoutMs / 1_000} s)`);

    // --- Drain: until nothing is pending in either queue and every acknowledged job completed.
    const deadline = Date.now() + o.drainTimeoutMs;
    let drained = false;
    let idleChecks = 0;
    let lastReport = 0;
    while (!interrupt.signal.aborted) {
      const counts = await within(runtime.queues.counts(), 10_000, 'queue counts');
      const pending = QUEUES.reduce((sum, q) => sum + PENDING.reduce((s, state) => s + (counts[q]?.[state] ?? 0), 0), 0);
      let missing = 0;
      for (const id of ackedJobs(history, 'memory-extraction')) if (!events.completed['memory-extraction'].has(id) && !events.failed['memory-extraction'].has(id)) missing++;
      if (pending === 0 && missing === 0) {
        drained = true;
        break;
      }
      // Nothing pending, yet some completions unseen: give the events a moment, then let the state decide.
      idleChecks = pending === 0 ? idleChecks + 1 : 0;
      if (idleChecks >= 8) {
        drained = true;
        break;
      }
      if (Date.now() > deadline) break;
      if (Date.now() - lastReport > 5_000) {
        lastReport = Date.now();
        log(`${clock(startedAt)} draining: ${pending} jobs pending, ${missing} acknowledged extraction jobs not completed yet`);
      }
      await sleep(250);
    }
    clearInterval(progress);
    const drainEndedAt = Date.now();
    log(`${clock(startedAt)} ${drained ? 'drained' : interrupt.signal.aborted ? 'interrupted' : 'drain timed out'}; stopping workers`);

    if (interrupt.signal.aborted && !(await within(admin.ping(), 1_000, 'PING').catch(() => false))) {
      // A terminal Ctrl-C reaches the whole foreground process group, redis-server included.
      await fleet.stopAll(2_000); // nothing to finish gracefully without Redis
      log(`interrupted, and Redis is gone too: no summary. Sent ${producer.turns} turns, ${ackedJobs(history, 'memory-extraction').size} extraction jobs acknowledged, ${events.completed['memory-extraction'].size} completed.`);
      return 130;
    }
    await fleet.stopAll(workerConfig(o, redis.url).shutdownTimeoutMs + 5_000);
    const collected = await within(collect(admin, keys, runtime, history, events, o.orgs), 60_000, 'reading the results from Redis');
    const latest = (await within(admin.call('LATENCY', 'LATEST'), 5_000, 'LATENCY LATEST')) as Array<[string, number, number, number]>;
    const logFile = redis.dir ? join(redis.dir, 'redis.log') : undefined;
    const diagnostics: Diagnostics = {
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      redisLatency: latest.map(([event, , latestMs, maxMs]) => ({ event, latestMs, maxMs })),
      redisLogWarnings: logFile && existsSync(logFile) ? runtimeWarnings(readFileSync(logFile, 'utf8')) : [],
    };
    const logCounts = countLogs(fleet);
    const summary = analyze({
      options: o,
      startedAt,
      produceEndedAt,
      drainEndedAt,
      drained,
      interrupted: interrupt.signal.aborted,
      producer,
      history,
      events,
      collected,
      workers: fleet.workers,
      kills,
      logCounts: logCounts.byMessage,
      logRaw: logCounts.raw,
      diagnostics,
    });

    const lines = summaryLines(summary);
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const args = process.argv.slice(2).filter((a) => a !== '--').join(' ');
    const header =
      `Run ${new Date(startedAt).toISOString()} · node ${process.version} · redis-server ${redisVersion} (${redis.backend}, AOF) · ` +
      `${availableParallelism()} CPUs (${cpu}) · \`soak${args ? ` ${args}` : ''}\``;
    out('');
    out('Summary');
    for (const line of lines) out(line);
    writeFileSync(join(RESULTS_DIR, 'latest.md'), `${markdown(summary, header, lines)}\n`);
    writeFileSync(join(RESULTS_DIR, 'latest-history.jsonl'), history.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    writeFileSync(
      join(RESULTS_DIR, 'latest-memory.jsonl'),
      fleet.workers.flatMap((w) => samplesOf(w).map((m) => JSON.stringify({ worker: w.name, slot: w.slot, s: (m.t - startedAt) / 1_000, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, jobs: m.jobs }))).join('\n') + '\n',
    );
    out('');
    out(`results written to ${join(RESULTS_DIR, 'latest.md')} (also latest-history.jsonl, latest-memory.jsonl, latest-workers.log)`);
    if (interrupt.signal.aborted) return 130;
    return summary.passed ? 0 : 1;
  } catch (err) {
    if (interrupt.signal.aborted) {
      log('interrupted before the run finished; nothing summarised');
      return 130;
    }
    log(`the soak could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    stopChaos.abort();
    await chaosDone.catch(() => undefined);
    // Stop everything this run started, in reverse order; each step bounded.
    if (res.fleet && res.fleet.alive().length > 0) await res.fleet.stopAll(5_000);
    await bounded(Promise.allSettled([...res.queueEvents.map((qe) => qe.close()), res.runtime?.disconnect({ timeoutMs: 2_500 })]), 3_000);
    res.admin?.disconnect();
    await bounded(res.redis?.dispose(), 8_000);
    const workerLog = workerLogLines(res.fleet);
    if (res.fleet) writeFileSync(join(RESULTS_DIR, 'latest-workers.log'), workerLog.map((l) => `${l}\n`).join(''));
  }
}

process.exitCode = await main();
// Everything is closed; should a client still be reconnecting to a Redis that is gone, do not hang.
setTimeout(() => process.exit(), 1_000).unref();
