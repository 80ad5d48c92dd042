/**
 * A campaign worker process: @lota/runtime (queues, org/workspace lock, embedding cache) running
 * the three job kinds whose guarantees the campaign checks, plus a lock loop of holders and
 * waiters, writing everything it does to the history (stdout, see @lota/fault-harness):
 *
 * - memory-extraction: embed the turn (the vector is compared with the provider's), then under
 *   the org lock write to the fenced store (an effect of the section and of the run);
 * - memory-digest (debounced): record which sequence number of its key it ran with;
 * - repo-indexing (latest wins): `runChunked`, each chunk an effect of the run;
 * - lock loop: `withWorkspaceMemoryLock` on shared scopes, each section writing to the store.
 *
 * stdin commands: `block <ms>` blocks the event loop now; `block-in-section <ms>` blocks it in
 * the next lock section; `stop` shuts down (the process must then exit by itself, with 0).
 * Logs (every level, JSON) go to stderr, where the driver scans them for secrets.
 */
import { createHook } from 'node:async_hooks';
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRecorder, FencedStore, nowUs, sendMessage, STOP_LINE, type RunHandle } from '@lota/fault-harness';
import { createLotaRuntime, runChunked, type JobPayload, type LockContext, type LotaRuntime, type Processor } from '@lota/runtime';
import { Redis } from 'ioredis';
import { expectedVector, WORKER_CONFIG_ENV, type WorkerConfig } from './worker-config.js';

const cfg = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? 'null') as WorkerConfig | null;
if (!cfg) {
  process.stderr.write(`chaos worker: ${WORKER_CONFIG_ENV} is not set; this process is started by the campaign driver.\n`);
  process.exit(2);
}
const config: WorkerConfig = cfg;
const rec = createRecorder(config.name);

function log(level: string): (fields: Record<string, unknown>, msg: string) => void {
  return (fields, msg) => void process.stderr.write(`${JSON.stringify({ level, worker: config.name, msg, ...fields })}\n`);
}
const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Where the timers still alive were created, for the "still running after disconnect" report:
 * an async hook remembers the creation stack of every Timeout until it is destroyed.
 */
const timerStacks = new Map<number, string>();
createHook({
  init(id, type) {
    if (type === 'Timeout') timerStacks.set(id, (new Error().stack ?? '').split('\n').slice(7, 22).filter((l) => !l.includes('node:internal')).join(' <- '));
  },
  destroy(id) {
    timerStacks.delete(id);
  },
}).enable();
function liveTimers(): string[] {
  return [...timerStacks.values()];
}
/** What still holds the process after disconnect: resources, timers, sockets and the names Redis knows them by. */
async function reportLeftovers(): Promise<void> {
  const sockets = liveSockets();
  const names: string[] = [];
  for (const line of sockets) {
    const [remote, local] = line.split(' ');
    const probe = new Redis(Number(remote), '127.0.0.1', { password: config.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      const list = String(await probe.call('CLIENT', 'LIST'));
      names.push(...list.split('\n').filter((l) => l.includes(`:${local} `)).map((l) => `${remote}: ${/name=(\S*)/.exec(l)?.[1] ?? '?'} cmd=${/cmd=(\S*)/.exec(l)?.[1] ?? '?'}`));
    } catch {
      names.push(`${remote}: (no answer)`);
    } finally {
      probe.disconnect();
    }
  }
  logger.warn({ resources: process.getActiveResourcesInfo(), timers: liveTimers(), sockets, names }, 'still running 1 s after disconnect');
}

/** Sockets still open (remote port, local port, state), for the same report. */
function liveSockets(): string[] {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  return handles
    .filter((h): h is Socket => h instanceof Socket && h.remotePort !== undefined)
    .map((h) => `${h.remotePort ?? '?'} ${h.localPort ?? '?'} ${h.readyState}${h.destroyed ? ' destroyed' : ''}`);
}

let blockInSection = 0;
let stopping = false;

/** One lock section: optional injected block, a little work, then the fenced write. */
async function section(store: FencedStore, scope: string, ctx: LockContext, value: string, requested: number, run?: RunHandle): Promise<void> {
  const s = rec.enterSection(scope, ctx.fencingToken, ctx.signal, requested);
  try {
    if (blockInSection > 0) {
      const ms = blockInSection;
      blockInSection = 0;
      rec.block(ms);
    }
    await sleep(5 + Math.floor(Math.random() * 25));
    s.effect('store-write');
    run?.effect('store-write');
    const w = await store.write(scope, ctx.fencingToken, value);
    s.end(ctx.signal.aborted ? 'lost' : 'ok');
    if (!w.accepted) throw new Error(`the fenced store refused token ${ctx.fencingToken} of ${scope} (last accepted ${w.last})`);
  } catch (err) {
    s.end(ctx.signal.aborted ? 'lost' : 'error', describe(err));
    throw err;
  }
}

function runtimeConfig(): Parameters<typeof createLotaRuntime>[0] {
  return {
    redis: {
      ...config.redis,
      password: config.password,
      keyPrefix: config.keyPrefix,
      connectTimeoutMs: config.connectTimeoutMs,
      healthCheckIntervalMs: 1_000,
      healthCheckTimeoutMs: 800,
      connectionName: `chaos-${config.name}`,
    },
    aiGateway: {
      embeddingProvider: {
        model: 'chaos/hash-embed',
        dimensions: config.embeddingDimensions,
        embed: (texts: string[]) => Promise.resolve(texts.map((t) => expectedVector(t, config.embeddingDimensions))),
      },
    },
    queues: {
      policies: {
        'memory-extraction': { maxRetries: 20, backoffDelayMs: 50, lockDurationMs: config.jobLockMs, maxStalledCount: 20 },
        'memory-digest': { maxRetries: 20, backoffDelayMs: 50, debounceMs: config.digestDebounceMs, lockDurationMs: config.jobLockMs, maxStalledCount: 20 },
        'repo-indexing': { maxRetries: 20, backoffDelayMs: 50, lockDurationMs: config.jobLockMs, maxStalledCount: 20 },
      },
    },
    memoryLock: { ttlMs: config.lockTtlMs, acquireTimeoutMs: config.acquireTimeoutMs },
    logger,
  };
}

/**
 * Connects as a host would: a worker that starts while Redis is unreachable (a replacement
 * started during an outage) tries again, each time with a new runtime (a runtime whose
 * connect() failed is closed), until it is told to stop.
 */
async function connected(): Promise<LotaRuntime | undefined> {
  for (;;) {
    const runtime = await createLotaRuntime(runtimeConfig());
    try {
      await rec.timed('connect', config.connectTimeoutMs + 500, () => runtime.connect());
      return runtime;
    } catch (err) {
      logger.warn({ error: describe(err) }, 'connect failed; trying again');
      await runtime.disconnect({ timeoutMs: 500 }).catch(() => undefined);
      if (stopping) return undefined;
      await sleep(200);
    }
  }
}

/** What a stop does once the worker runs (set when the worker is up). */
let onStop: () => Promise<void> = () => Promise.resolve();
/** Set once the worker is up: a stop that arrives before (while it connects) runs when it is. */
let up = false;

/** Closes everything, then checks that nothing holds the process (the stop itself must end it). */
function stopNow(): void {
  void onStop().then(() => {
    // Nothing else: the process must now end by itself (no handle left open). If it does
    // not, say what still holds it (this timer itself does not keep the process alive).
    setTimeout(() => void reportLeftovers(), 1_000).unref();
  });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'block') rec.block(Number(arg));
  else if (cmd === 'block-in-section') blockInSection = Number(arg);
  else if (cmd === STOP_LINE && !stopping) {
    stopping = true;
    lines.close();
    process.stdin.destroy();
    if (up) stopNow();
  }
});

async function main(): Promise<void> {
  const runtime = await connected();
  if (!runtime) {
    stopNow(); // told to stop while connecting: the failed runtime is closed; check what is left
    return;
  }
  const storeClient = new Redis(config.storeUrl, { maxRetriesPerRequest: 3 });
  storeClient.on('error', () => undefined);
  const store = new FencedStore(storeClient, `${config.keyPrefix}:store`);
  const locks = config.unsafeNoLock
    ? {
        // Self-check: no exclusion at all; the campaign's checks must report overlaps.
        withOrgMemoryLock: async <T>(orgId: string, fn: (ctx: LockContext) => Promise<T>) =>
          fn({ fencingToken: nowUs(), signal: new AbortController().signal, scope: `org:${orgId}` }),
        withWorkspaceMemoryLock: async <T>(id: string, fn: (ctx: LockContext) => Promise<T>) =>
          fn({ fencingToken: nowUs(), signal: new AbortController().signal, scope: `workspace:${id}` }),
      }
    : runtime.locks;
  const embeddings = runtime.embeddings;

  const extraction: Processor<JobPayload> = async (job, _token, signal) => {
    const run = rec.startRun('memory-extraction', job.id ?? '?', signal);
    try {
      const { orgId, text } = job.data as { orgId: string; text: string };
      const [vector] = await embeddings.embed([text]);
      const expected = Array.from(Float32Array.from(expectedVector(text, config.embeddingDimensions)));
      rec.vector(JSON.stringify(vector) === JSON.stringify(expected), JSON.stringify(vector) === JSON.stringify(expected) ? undefined : `text ${JSON.stringify(text)}`);
      const requested = nowUs();
      await locks.withOrgMemoryLock(orgId, (ctx) => section(store, `org:${orgId}`, ctx, job.id ?? '?', requested, run), { acquireTimeoutMs: config.acquireTimeoutMs, ...(signal ? { signal } : {}) });
      run.end(true);
    } catch (err) {
      run.end(false, describe(err));
      throw err;
    }
  };
  const digest: Processor<JobPayload> = async (job, _token, signal) => {
    const { orgId, workstreamId, seq } = job.data as { orgId: string; workstreamId: string; seq: number };
    const run = rec.startRun('memory-digest', job.id ?? '?', signal, { key: `${orgId}/${workstreamId}`, seq });
    try {
      await sleep(5 + Math.floor(Math.random() * 20));
      run.effect('digest');
      run.end(true);
    } catch (err) {
      run.end(false, describe(err));
      throw err;
    }
  };
  const indexing: Processor<JobPayload> = async (job, _token, signal) => {
    const { orgId, repoId, seq } = job.data as { orgId: string; repoId: string; seq: number };
    const run = rec.startRun('repo-indexing', job.id ?? '?', signal, { key: `${orgId}/${repoId}`, seq });
    try {
      await runChunked(
        job,
        config.chunks,
        async (index, chunkSignal) => {
          run.effect(`chunk ${index}`);
          await sleep(config.chunkMs, undefined, chunkSignal ? { signal: chunkSignal } : {});
        },
        signal,
      );
      run.end(true);
    } catch (err) {
      run.end(false, describe(err));
      throw err;
    }
  };
  const workerOptions = { stalledInterval: config.stalledIntervalMs };
  runtime.queues.registerWorker({ queue: 'memory-extraction', concurrency: config.concurrency, processor: extraction, workerOptions });
  runtime.queues.registerWorker({ queue: 'memory-digest', concurrency: config.concurrency, processor: digest, workerOptions });
  runtime.queues.registerWorker({ queue: 'repo-indexing', concurrency: 1, processor: indexing, workerOptions });

  const lockLoop = async (scope: string): Promise<void> => {
    while (!stopping) {
      const t0 = nowUs();
      let entered = false;
      try {
        await locks.withWorkspaceMemoryLock(
          scope,
          async (ctx) => {
            entered = true;
            rec.emit({ k: 'call', proc: config.name, op: 'lock-wait', boundMs: config.acquireTimeoutMs, ms: (nowUs() - t0) / 1000, t: t0, ok: true });
            await section(store, `workspace:${scope}`, ctx, `${config.name}@${t0}`, t0);
          },
          { acquireTimeoutMs: config.acquireTimeoutMs },
        );
      } catch (err) {
        if (!entered) {
          const code = codeOf(err);
          rec.emit({ k: 'call', proc: config.name, op: 'lock-wait', boundMs: config.acquireTimeoutMs, ms: (nowUs() - t0) / 1000, t: t0, ok: false, ...(code ? { code } : {}) });
        }
      }
      await sleep(5 + Math.floor(Math.random() * 40));
    }
  };
  const loops = config.lockScopes.flatMap((scope) => Array.from({ length: config.lockLoops }, () => lockLoop(scope)));

  onStop = async () => {
    await Promise.allSettled(loops);
    await rec.timed('disconnect', config.disconnectTimeoutMs, () => runtime.disconnect({ timeoutMs: config.disconnectTimeoutMs })).catch(() => undefined);
    storeClient.disconnect();
  };
  up = true;
  sendMessage({ event: 'ready', pid: process.pid });
  // Told to stop while it connected (found by the campaign, seed 280: a replacement worker
  // connecting through a Redis restart got the stop mid-connect and never closed its runtime).
  if (stopping) stopNow();
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos worker ${config.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
  process.stdin.destroy();
});
