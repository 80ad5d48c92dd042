import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRecorder, FencedStore, nowUs, sendMessage, STOP_LINE, type RunHandle } from '@lota/fault-harness';
import { createLotaRuntime, type EmbeddingProvider, type JobPayload, type LockContext, type LotaRuntime, type OrgMemoryLock, type Processor } from '@lota/runtime';
import { UnrecoverableError } from 'bullmq';
import { WORKER_CONFIG_ENV, WORKER_NAME_ENV, type WorkerConfig, type WorkerMessage } from './config.js';
import { soakKeys } from './keys.js';
import { jsonLogger } from './log.js';
import { extractFacts, hashVector, type Fact } from './texts.js';

/**
 * A soak worker process: @lota/runtime (one connection manager, its queues, the org memory
 * lock, the embedding cache) running memory-extraction and memory-digest jobs the way the
 * sample host does (model time outside the lock; under the org lock: extract, embed through
 * the cache, write to a fenced store), writing what it does to the fault-harness history on
 * stdout: every processor run (start, effects, end), every lock section (start with its fencing
 * token, the fenced write as an effect, end, and when its signal aborted), stamped with the
 * harness clock. Memory reports and 'ready' go to the driver as control messages; logs (JSON)
 * to stderr. The line `stop` on stdin (or stdin closing: the driver died) shuts it down.
 *
 * The workers are registered with `runtime.queues.registerWorker` rather than the runtime's
 * `workers` config, because only the former takes BullMQ worker options: a soak that kills
 * workers every few seconds needs a short lockDuration / stalledInterval.
 */

const name = process.env[WORKER_NAME_ENV] ?? `worker-${process.pid}`;
const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? 'null') as WorkerConfig | null;
const logger = jsonLogger({ worker: name }, 'warn');
const rec = createRecorder(name);

function send(message: WorkerMessage): void {
  sendMessage(message);
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

class StaleWriteError extends Error {
  override readonly name = 'StaleWriteError';
}

interface Turn {
  orgId: string;
  workstreamId: string;
  turnId: string;
  seq: number;
  text: string;
}

/** The job's turn; extraction jobs carry `turnId` and `text`, digest schedules `lastTurnId` and no text. */
function parseTurn(data: JobPayload, queue: string, needText: boolean): Turn {
  const str = (field: string): string => {
    const v = data[field];
    if (typeof v !== 'string' || v === '') throw new UnrecoverableError(`${queue} job data has no '${field}'`);
    return v;
  };
  const seq = data.seq;
  if (typeof seq !== 'number' || !Number.isInteger(seq)) throw new UnrecoverableError(`${queue} job data has no integer 'seq'`);
  return { orgId: str('orgId'), workstreamId: str('workstreamId'), turnId: str(needText ? 'turnId' : 'lastTurnId'), seq, text: needText ? str('text') : '' };
}

/** The debounce key and sequence number a digest job carries, for its history run (latest-data check). */
function digestData(data: JobPayload): { key?: string; seq?: number } {
  const { orgId, workstreamId, seq } = data;
  return typeof orgId === 'string' && typeof workstreamId === 'string' && typeof seq === 'number' ? { key: `${orgId}/${workstreamId}`, seq } : {};
}

function localProvider(cfg: WorkerConfig): EmbeddingProvider {
  return {
    model: 'soak/hash-embed-v1',
    dimensions: cfg.embeddingDimensions,
    async embed(texts: string[]): Promise<number[][]> {
      if (cfg.embeddingLatencyMs > 0) await sleep(cfg.embeddingLatencyMs);
      return texts.map((t) => hashVector(t, cfg.embeddingDimensions));
    },
  };
}

async function main(cfg: WorkerConfig): Promise<void> {
  const keys = soakKeys(cfg.keyPrefix);
  const runtime: LotaRuntime = await createLotaRuntime({
    redis: { url: cfg.redisUrl, keyPrefix: cfg.keyPrefix, connectionName: `soak:${name}` },
    aiGateway: { embeddingProvider: localProvider(cfg), embeddingCacheTtlSeconds: 3_600 },
    queues: { policies: { 'memory-digest': { debounceMs: cfg.digestDebounceMs } } },
    memoryLock: { ttlMs: cfg.orgLockTtlMs, acquireTimeoutMs: cfg.orgLockAcquireTimeoutMs },
    logger,
  });

  let shuttingDown = false;
  const timers: { sampler?: NodeJS.Timeout } = {};
  const shutdown = (reason: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    clearInterval(timers.sampler);
    logger.info({ reason }, 'shutting down');
    setTimeout(() => process.exit(1), cfg.shutdownTimeoutMs + 3_000).unref();
    runtime.disconnect({ timeoutMs: cfg.shutdownTimeoutMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ error: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // The driver asks for a stop on stdin; if it dies (even by SIGKILL), stdin ends and we go too.
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === STOP_LINE) shutdown('stop requested');
  });
  lines.on('close', () => shutdown('driver gone (stdin closed)'));
  process.stdin.on('error', () => shutdown('driver gone (stdin error)'));

  await runtime.connect();
  // Captured now: the runtime's getters throw once disconnect() starts, while active jobs still finish.
  const redis = runtime.redis.getConnection();
  const store = new FencedStore(redis, keys.store);
  const locks: Pick<OrgMemoryLock, 'withOrgMemoryLock'> = cfg.unsafeNoLock
    ? {
        // --unsafe-no-lock: no mutual exclusion at all; only proves the checks catch it.
        withOrgMemoryLock: async (orgId, fn) => fn({ fencingToken: nowUs(), signal: new AbortController().signal, scope: `org:${orgId}` }),
      }
    : runtime.locks;
  const embeddings = runtime.embeddings;
  const counts = { extractionStarted: 0, extractionDone: 0, digestDone: 0, failedAttempts: 0 };

  /**
   * The org lock's section, recorded in the history: embed the facts, the rest of a real host's
   * section (vector index, DB write: long enough that kills land inside locks too), then the
   * fenced write (the section's and the run's effect, stamped with whether the lease was live).
   * An accepted write adds the turn's new facts (HSETNX: re-runs are idempotent); a refused one
   * (a newer token wrote first) fails the attempt, and BullMQ retries it with a new token.
   */
  const section = async (ctx: LockContext, run: RunHandle, turn: Turn, facts: Fact[]): Promise<{ added: number; fencingToken: number }> => {
    const s = rec.enterSection(ctx.scope, ctx.fencingToken, ctx.signal);
    try {
      const vectors = facts.length > 0 ? await embeddings.embed(facts.map((f) => f.text)) : [];
      if (facts.length > 0) {
        // What the cache returned must be what the provider gives these texts (stored as float32).
        const wrong = facts.filter((f, i) => JSON.stringify(vectors[i]) !== JSON.stringify(Array.from(Float32Array.from(hashVector(f.text, cfg.embeddingDimensions)))));
        rec.vector(wrong.length === 0, wrong.length === 0 ? undefined : `${wrong.length} of ${facts.length} facts of turn ${turn.turnId}, e.g. "${wrong[0]?.text ?? ''}"`);
      }
      await sleep(cfg.inLockDelayMinMs + Math.random() * (cfg.inLockDelayMaxMs - cfg.inLockDelayMinMs), undefined, { signal: ctx.signal });
      ctx.signal.throwIfAborted(); // the lease is gone: do not write (the fence covers a pause after this check)
      s.effect('store-write');
      run.effect('store-write');
      const w = await store.write(ctx.scope, ctx.fencingToken, turn.turnId);
      if (!w.accepted) throw new StaleWriteError(`the store refused fencing token ${ctx.fencingToken} for org '${turn.orgId}' (last accepted: ${w.last})`);
      const storedAt = Date.now();
      const tx = redis.multi();
      for (const [i, f] of facts.entries()) {
        tx.hsetnx(keys.memories(turn.orgId), f.id, JSON.stringify({ text: f.text, workstreamId: turn.workstreamId, turnId: turn.turnId, fencingToken: ctx.fencingToken, storedAt, embedding: vectors[i] ?? [] }));
      }
      const added = ((await tx.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
      s.end(ctx.signal.aborted ? 'lost' : 'ok');
      return { added, fencingToken: ctx.fencingToken };
    } catch (err) {
      s.end(ctx.signal.aborted ? 'lost' : 'error', describe(err));
      throw err;
    }
  };

  const extraction: Processor<JobPayload> = async (job, _token, signal) => {
    const q = 'memory-extraction';
    const run = rec.startRun(q, job.id ?? '?', signal);
    counts.extractionStarted++;
    try {
      const turn = parseTurn(job.data, q, true);
      // The model call of a real host: outside the lock, so other jobs of the org proceed.
      const delay = cfg.modelDelayMinMs + Math.random() * (cfg.modelDelayMaxMs - cfg.modelDelayMinMs);
      await sleep(delay, undefined, signal ? { signal } : {});
      const facts = extractFacts(turn.text);
      const { added, fencingToken } = await locks.withOrgMemoryLock(turn.orgId, (ctx) => section(ctx, run, turn, facts), signal ? { signal } : {});
      counts.extractionDone++;
      run.end(true);
      return { facts: facts.length, added, fencingToken };
    } catch (err) {
      counts.failedAttempts++;
      run.end(false, describe(err));
      throw err;
    }
  };

  const digest: Processor<JobPayload> = async (job, _token, signal) => {
    const q = 'memory-digest';
    const run = rec.startRun(q, job.id ?? '?', signal, digestData(job.data));
    try {
      const turn = parseTurn(job.data, q, false);
      const memories = await redis.hlen(keys.memories(turn.orgId));
      const key = keys.digest(turn.orgId, turn.workstreamId);
      run.effect('digest-write');
      await redis.multi().hset(key, { lastTurnId: turn.turnId, seq: turn.seq, memories, digestedAt: Date.now() }).hincrby(key, 'runs', 1).exec();
      counts.digestDone++;
      run.end(true);
      return { memories, seq: turn.seq };
    } catch (err) {
      counts.failedAttempts++;
      run.end(false, describe(err));
      throw err;
    }
  };

  const workerOptions = { lockDuration: cfg.lockDurationMs, stalledInterval: cfg.stalledIntervalMs, maxStalledCount: cfg.maxStalledCount };
  runtime.queues.registerWorker({ queue: 'memory-extraction', concurrency: cfg.extractionConcurrency, processor: extraction, workerOptions });
  runtime.queues.registerWorker({ queue: 'memory-digest', concurrency: cfg.digestConcurrency, processor: digest, workerOptions });

  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (): void => {
    gc?.(); // heapUsed right after a full GC: live objects only, the signal a leak shows in
    const m = process.memoryUsage();
    const c = embeddings.stats();
    send({
      event: 'mem',
      worker: name,
      t: Date.now(),
      gc: gc !== undefined,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      jobs: { ...counts },
      cache: { hits: c.hits, misses: c.misses, memoryHits: c.memoryHits, providerCalls: c.providerCalls, errors: c.errors },
    });
  };
  send({ event: 'ready', worker: name, pid: process.pid });
  sample();
  timers.sampler = setInterval(sample, cfg.memorySampleMs);
  timers.sampler.unref();
}

if (!config) {
  process.stderr.write(`soak worker: ${WORKER_CONFIG_ENV} is not set; this process is started by the soak driver (dist/main.js).\n`);
  process.exit(2);
}
main(config).catch((err: unknown) => {
  process.stderr.write(`soak worker ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
