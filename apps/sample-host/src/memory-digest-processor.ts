import { UnrecoverableError, type JobPayload, type Processor } from '@lota/runtime';
import type { HostKeys, HostRedis } from './keys.js';
import type { FencedMemoryStore } from './memory-store.js';

/** A workstream's digest, as the digest job writes it and `GET /orgs/:id/memories` serves it. */
export interface Digest {
  workstreamId: string;
  /** Turns recorded for the workstream. */
  turns: number;
  /** Memories that came from the workstream. */
  memories: number;
  /** The most recent memory texts (up to 3). */
  latest: string[];
  lastTurnId: string;
  digestedAt: string;
  /** How many times the digest ran (debouncing keeps this low). */
  runs: number;
}

function requireString(data: JobPayload, field: string): string {
  const value = data[field];
  if (typeof value !== 'string' || value === '') {
    throw new UnrecoverableError(`memory-digest job data has no '${field}' (a non-empty string is required)`);
  }
  return value;
}

/** Where digests are read and written: the host's own keys on the runtime's general client. */
export interface DigestStore {
  readonly redis: HostRedis;
  readonly keys: HostKeys;
}

/** What the digest uses, read when a job runs (see `ExtractionParts`). */
export interface DigestParts extends DigestStore {
  readonly store: FencedMemoryStore;
}

/**
 * memory-digest: summarises a workstream (turn and memory counts, latest memories). It is
 * scheduled on every turn but debounced per (org, workstream), so a burst of turns runs it once.
 */
export function createMemoryDigestProcessor(parts: DigestParts): Processor<JobPayload> {
  return async (job) => {
    const orgId = requireString(job.data, 'orgId');
    const workstreamId = requireString(job.data, 'workstreamId');
    const lastTurnId = typeof job.data.lastTurnId === 'string' ? job.data.lastTurnId : '';
    const { keys, redis } = parts;
    const [turns, all] = await Promise.all([redis.llen(keys.turns(orgId, workstreamId)), parts.store.list(orgId)]);
    const mine = all.filter((m) => m.workstreamId === workstreamId);
    const digestedAt = new Date().toISOString();
    const key = keys.digest(orgId, workstreamId);
    const res = await redis
      .multi()
      .hset(key, {
        workstreamId,
        turns,
        memories: mine.length,
        latest: JSON.stringify(mine.slice(-3).map((m) => m.text)),
        lastTurnId,
        digestedAt,
      })
      .hincrby(key, 'runs', 1)
      .sadd(keys.digestIndex(orgId), workstreamId)
      .exec();
    const runs = Number(res?.[1]?.[1] ?? 0);
    const digest: Digest = { workstreamId, turns, memories: mine.length, latest: mine.slice(-3).map((m) => m.text), lastTurnId, digestedAt, runs };
    return digest;
  };
}

/** Reads every digest of an org. */
export async function readDigests(from: DigestStore, orgId: string): Promise<Digest[]> {
  const { keys, redis } = from;
  const ids = (await redis.smembers(keys.digestIndex(orgId))).sort();
  const hashes = await Promise.all(ids.map((ws) => redis.hgetall(keys.digest(orgId, ws))));
  return hashes.map((h, i) => ({
    workstreamId: h.workstreamId ?? ids[i] ?? '',
    turns: Number(h.turns ?? 0),
    memories: Number(h.memories ?? 0),
    latest: JSON.parse(h.latest ?? '[]') as string[],
    lastTurnId: h.lastTurnId ?? '',
    digestedAt: h.digestedAt ?? '',
    runs: Number(h.runs ?? 0),
  }));
}
