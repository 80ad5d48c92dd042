/**
 * The drill's workers: memory extraction under the org lock. Each job embeds its turn through
 * the runtime's cache, then, holding the org's lock, does the extraction's own work and writes to
 * the fenced store with its fencing token. Every job run and lock section goes into the history
 * (the fenced write as an effect of both, stamped with whether its signal was still live).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createRecorder, parseHistoryLine, type FencedStore, type Recorder, type RunHandle } from '@lota/fault-harness';
import { RedisLock } from '@lota/org-lock';
import type { Job } from 'bullmq';
import type { LockContext, LotaRuntime } from '../../src/index.js';
import { cachedLocalVector, localProvider } from '../helpers.js';
import { describeError, ENQUEUE_TIMEOUT_MS, now, REFUSED, roleRuntime, type DrillContext, type DrillResult } from './records.js';

/** What the workers hold right now and what BullMQ recorded: shared by every worker runtime, read by the observer. */
export interface WorkTally {
  /** org -> lock sections in progress. */
  readonly inSection: Map<string, number>;
  /** Jobs whose processor is running. */
  readonly active: Set<string>;
  /** jobId -> drill time of its first `completed` event. */
  readonly completed: Map<string, number>;
  readonly failedAttempts: DrillResult['failedAttempts'];
}

export function newTally(): WorkTally {
  return { inSection: new Map(), active: new Set(), completed: new Map(), failedAttempts: [] };
}

/** One holder's critical section: the extraction's own work, then the fenced write (an effect of the section and of the run). */
async function section(rec: Recorder, run: RunHandle, ctx: LockContext, store: FencedStore, tally: WorkTally, orgId: string, jobId: string): Promise<void> {
  const s = rec.enterSection(ctx.scope, ctx.fencingToken, ctx.signal);
  tally.inSection.set(orgId, (tally.inSection.get(orgId) ?? 0) + 1);
  try {
    await sleep(10 + Math.floor(Math.random() * 20)); // the extraction's own work
    s.effect('store-write');
    run.effect('store-write');
    const w = await store.write(ctx.scope, ctx.fencingToken, jobId);
    if (!w.accepted) throw new Error(`${REFUSED} token ${ctx.fencingToken} (it had accepted ${w.last})`);
    s.end(ctx.signal.aborted ? 'lost' : 'ok');
  } catch (err) {
    s.end(ctx.signal.aborted ? 'lost' : 'error', describeError(err));
    throw err;
  } finally {
    tally.inSection.set(orgId, (tally.inSection.get(orgId) ?? 1) - 1);
  }
}

/** Starts a worker runtime named `name` (memory extraction, concurrency 3) and records what BullMQ reports. */
export async function startWorker(ctx: DrillContext, name: string, store: FencedStore, tally: WorkTally): Promise<LotaRuntime> {
  const rec = createRecorder(name, (line) => ctx.history.add(parseHistoryLine(line)!));
  const rt = await roleRuntime(ctx, name, {
    aiGateway: { embeddingProvider: localProvider() },
    queues: { enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS, policies: { 'memory-extraction': { maxRetries: 8, backoffDelayMs: 200 } } },
    memoryLock: { ttlMs: 3_000, acquireTimeoutMs: 20_000 },
    workers: {
      'memory-extraction': {
        concurrency: 3,
        processor: async (job, _token, signal) => {
          const { orgId, turnId } = job.data as { orgId: string; turnId: string };
          const jobId = job.id ?? '?';
          const run = rec.startRun('memory-extraction', jobId, signal);
          tally.active.add(jobId);
          try {
            // The extraction embeds the turn (through the cache), then writes under the org lock.
            const text = `turn ${orgId} ${turnId}`;
            const [vector] = await rt.embeddings.embed([text]);
            if (JSON.stringify(vector) !== JSON.stringify(cachedLocalVector(text))) throw new Error('wrong vector from the cache');
            await rt.locks.withOrgMemoryLock(orgId, (lock) => section(rec, run, lock, store, tally, orgId, jobId));
            run.end(true);
          } catch (err) {
            run.end(false, describeError(err));
            throw err;
          } finally {
            tally.active.delete(jobId);
          }
        },
      },
    },
  });
  await rt.connect();
  // The orphan-grant observer patches the class the runtime's lock is an instance of.
  if (!((rt as unknown as { parts?: { lock?: unknown } }).parts?.lock instanceof RedisLock)) throw new Error('the runtime lock is not the observed RedisLock class');
  for (const w of rt.queues.workers) {
    w.worker.on('completed', (job: Job) => {
      if (job.id && !tally.completed.has(job.id)) tally.completed.set(job.id, now());
    });
    w.worker.on('failed', (job: Job | undefined, err: Error) => {
      if (job?.id) tally.failedAttempts.push({ jobId: job.id, at: now(), error: err.message, final: job.attemptsMade >= (job.opts.attempts ?? 1) });
    });
  }
  return rt;
}
