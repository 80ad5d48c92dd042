import { setTimeout as sleep } from 'node:timers/promises';
import { createLotaRuntime, type EmbeddingProvider, type JobPayload, type LotaRuntime, type OrgMemoryLock, type Processor } from '@lota/runtime';
import { UnrecoverableError } from 'bullmq';
import { WORKER_CONFIG_ENV, WORKER_NAME_ENV, type WorkerConfig, type WorkerMessage } from './config.js';
import { soakKeys } from './keys.js';
import { jsonLogger } from './log.js';
import { PROBE_ENTER, PROBE_LEAVE, STORE_WRITE } from './scripts.js';
import { extractFacts, hashVector } from './texts.js';

/**
 * A soak worker process: @lota/runtime (one connection manager, its queues, the org memory
 * lock, the embedding cache) running memory-extraction and memory-digest jobs the way the
 * sample host does (model time outside the lock; under the org lock: extract, embed through
 * the cache, write to a fenced store), plus the soak's accounting: every processor start,
 * success and failed attempt goes to a run log; every lock section is stamped on entry and
 * exit by Redis (the probe); memory is reported to the driver over stdout.
 *
 * The workers are registered with `runtime.queues.registerWorker` rather than the runtime's
 * `workers` config, because only the former takes BullMQ worker options: a soak that kills
 * workers every few seconds needs a short lockDuration / stalledInterval.
 */

const name = process.env[WORKER_NAME_ENV] ?? `worker-${process.pid}`;
const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? 'null') as WorkerConfig | null;
const logger = jsonLogger({ worker: name }, 'warn');

function send(message: WorkerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

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
  // The driver holds our stdin: if it dies (even by SIGKILL), stdin ends and we go too.
  process.stdin.on('end', () => shutdown('driver gone (stdin closed)'));
  process.stdin.on('error', () => shutdown('driver gone (stdin error)'));
  process.stdin.resume();

  await runtime.connect();
  // Captured now: the runtime's getters throw once disconnect() starts, while active jobs still finish.
  const redis = runtime.redis.getConnection();
  const locks: Pick<OrgMemoryLock, 'withOrgMemoryLock'> = cfg.unsafeNoLock
    ? {
        // --unsafe-no-lock: no mutual exclusion at all; only proves the probe and the checks catch it.
        withOrgMemoryLock: async (orgId, fn) => fn({ fencingToken: await redis.incr(`${keys.fence(orgId)}:unsafe`), signal: new AbortController().signal, scope: `org:${orgId}` }),
      }
    : runtime.locks;
  const embeddings = runtime.embeddings;
  const counts = { extractionStarted: 0, extractionDone: 0, digestDone: 0, failedAttempts: 0 };

  const record = (kind: 'S' | 'D' | 'F', queue: string, jobId: string, detail: string) =>
    redis.rpush(keys.runLog, `${kind}|${queue}|${jobId}|${name}|${detail}`);

  const extraction: Processor<JobPayload> = async (job, _token, signal) => {
    const q = 'memory-extraction';
    const jobId = job.id ?? '?';
    counts.extractionStarted++;
    await record('S', q, jobId, String(job.attemptsMade));
    try {
      const turn = parseTurn(job.data, q, true);
      // The model call of a real host: outside the lock, so other jobs of the org proceed.
      const delay = cfg.modelDelayMinMs + Math.random() * (cfg.modelDelayMaxMs - cfg.modelDelayMinMs);
      await sleep(delay, undefined, signal ? { signal } : {});
      const facts = extractFacts(turn.text);
      const [accepted, n, token] = await locks.withOrgMemoryLock(
        turn.orgId,
        async ({ fencingToken, signal: lease }): Promise<[number, number, number]> => {
          const probe = [keys.holder(turn.orgId), keys.open(turn.orgId)];
          const overlap = await redis.eval(PROBE_ENTER, 5, ...probe, keys.dead, keys.overlaps, keys.orgs, turn.orgId, fencingToken, name, jobId);
          if (overlap === 1) logger.error({ orgId: turn.orgId, fencingToken, jobId }, 'probe: another live holder is inside this org lock');
          try {
            const vectors = facts.length > 0 ? await embeddings.embed(facts.map((f) => f.text)) : [];
            // The rest of a real host's section (vector index, DB write): long enough that kills land inside locks too.
            await sleep(cfg.inLockDelayMinMs + Math.random() * (cfg.inLockDelayMaxMs - cfg.inLockDelayMinMs), undefined, { signal: lease });
            lease.throwIfAborted(); // the lease is gone: do not write (the fence covers a pause after this check)
            const storedAt = Date.now();
            const args = facts.flatMap((f, i) => [
              f.id,
              JSON.stringify({ text: f.text, workstreamId: turn.workstreamId, turnId: turn.turnId, fencingToken, storedAt, embedding: vectors[i] ?? [] }),
            ]);
            const [ok, value] = (await redis.eval(STORE_WRITE, 3, keys.fence(turn.orgId), keys.memories(turn.orgId), keys.counters, fencingToken, ...args)) as [number, number];
            return [ok, value, fencingToken];
          } finally {
            await redis.eval(PROBE_LEAVE, 3, ...probe, keys.intervals(turn.orgId), fencingToken, name);
          }
        },
        signal ? { signal } : {},
      );
      if (accepted !== 1) throw new StaleWriteError(`the store refused fencing token ${token} for org '${turn.orgId}' (last accepted: ${n})`);
      await record('D', q, jobId, String(token));
      counts.extractionDone++;
      return { facts: facts.length, added: n, fencingToken: token };
    } catch (err) {
      counts.failedAttempts++;
      await record('F', q, jobId, err instanceof Error ? `${err.name}: ${err.message}` : String(err)).catch(() => undefined);
      throw err;
    }
  };

  const digest: Processor<JobPayload> = async (job) => {
    const q = 'memory-digest';
    const jobId = job.id ?? '?';
    await record('S', q, jobId, String(job.attemptsMade));
    try {
      const turn = parseTurn(job.data, q, false);
      const memories = await redis.hlen(keys.memories(turn.orgId));
      const key = keys.digest(turn.orgId, turn.workstreamId);
      await redis.multi().hset(key, { lastTurnId: turn.turnId, seq: turn.seq, memories, digestedAt: Date.now() }).hincrby(key, 'runs', 1).exec();
      await record('D', q, jobId, `${turn.orgId}|${turn.workstreamId}|${turn.seq}`);
      counts.digestDone++;
      return { memories, seq: turn.seq };
    } catch (err) {
      counts.failedAttempts++;
      await record('F', q, jobId, err instanceof Error ? `${err.name}: ${err.message}` : String(err)).catch(() => undefined);
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
