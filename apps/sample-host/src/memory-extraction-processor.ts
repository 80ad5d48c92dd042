import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, type JobPayload, type OrgMemoryLock, type Processor, type RuntimeEmbeddings } from '@lota/runtime';
import type { HostConfig } from './config.js';
import { extractMemories } from './extract-memories.js';
import type { HostStats } from './host-stats.js';
import type { FencedMemoryStore, WriteResult } from './memory-store.js';

/** The data of a memory-extraction job, as `POST /turns` enqueues it. */
export interface ExtractionJobData {
  orgId: string;
  workstreamId: string;
  turnId: string;
  text: string;
}

/** What a completed job returns (shown in Bull Board). */
export interface ExtractionResult {
  /** Memories found in the turn. */
  memories: number;
  /** Of those, new to the org's store. */
  added: number;
  fencingToken: number;
  lockWaitMs: number;
}

/** Checks the job's data; anything else enqueued on the queue fails at once, for good (no retry can fix it). */
export function parseExtractionJob(data: JobPayload): ExtractionJobData {
  const out: Record<string, string> = {};
  for (const field of ['orgId', 'workstreamId', 'turnId', 'text'] as const) {
    const value = data[field];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new UnrecoverableError(`memory-extraction job data has no '${field}' (a non-empty string is required); it cannot be processed`);
    }
    out[field] = value;
  }
  return out as unknown as ExtractionJobData;
}

/** Thrown when the store refused this holder's token: the lock was lost; the job is retried with a new token. */
export class StaleWriteError extends Error {
  override readonly name = 'StaleWriteError';
}

/**
 * What the extraction uses, read when a job runs (a host builds these parts once it is
 * connected, and its workers may start a job before `connect()` resolves).
 */
export interface ExtractionParts {
  readonly locks: OrgMemoryLock;
  readonly embeddings: RuntimeEmbeddings;
  readonly store: FencedMemoryStore;
  readonly stats: HostStats;
}

/**
 * memory-extraction: under the org's memory lock, extract the turn's memories, embed them
 * through the runtime's embedding cache, and write them to the fenced store with the lock's
 * fencing token. Records the lock wait, the holders inside the lock and the cache counters.
 */
export function createMemoryExtractionProcessor(parts: ExtractionParts, config: Pick<HostConfig, 'extractionDelayMs' | 'lockTtlMs'>): Processor<JobPayload> {
  return async (job, _token, signal) => {
    const data = parseExtractionJob(job.data);
    // The model call of a real host (simulated): outside the lock, so other jobs of the org proceed.
    if (config.extractionDelayMs > 0) await sleep(config.extractionDelayMs, undefined, signal ? { signal } : {});

    const asked = performance.now();
    let lockWaitMs = 0;
    let extracted = 0;
    const write = await parts.locks.withOrgMemoryLock(
      data.orgId,
      async ({ fencingToken, signal: lease }): Promise<WriteResult> => {
        lockWaitMs = performance.now() - asked;
        const holder = String(fencingToken);
        await parts.stats.enterLock(data.orgId, holder, config.lockTtlMs);
        try {
          const memories = extractMemories(data.text);
          extracted = memories.length;
          const vectors = memories.length > 0 ? await parts.embeddings.embed(memories.map((m) => m.text)) : [];
          lease.throwIfAborted(); // the lease is gone: do not write (a pause after this check is what the fence is for)
          return await parts.store.write(
            data.orgId,
            fencingToken,
            memories.map((m, i) => ({ id: m.id, text: m.text, workstreamId: data.workstreamId, turnId: data.turnId, embedding: vectors[i] ?? [] })),
          );
        } finally {
          await parts.stats.leaveLock(data.orgId, holder);
        }
      },
      signal ? { signal } : {},
    );
    await Promise.all([parts.stats.recordLockWait(data.orgId, lockWaitMs), extracted > 0 ? parts.stats.recordEmbedding(parts.embeddings.stats()) : undefined]);
    if (!write.accepted) {
      throw new StaleWriteError(`the memory store refused fencing token ${write.fencingToken} for org '${data.orgId}' (last accepted: ${write.lastAcceptedToken})`);
    }
    const result: ExtractionResult = { memories: extracted, added: write.added, fencingToken: write.fencingToken, lockWaitMs: Math.round(lockWaitMs * 1000) / 1000 };
    return result;
  };
}
