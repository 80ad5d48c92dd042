import type { HostKeys, HostRedis } from './keys.js';

/** A memory as stored and served by `GET /orgs/:id/memories`. */
export interface StoredMemory {
  id: string;
  text: string;
  workstreamId: string;
  turnId: string;
  /** Fencing token of the lock holder that wrote it. */
  fencingToken: number;
  /** Length of the embedding stored with it. */
  dimensions: number;
  storedAt: string;
}

export interface MemoryToWrite {
  id: string;
  text: string;
  workstreamId: string;
  turnId: string;
  embedding: number[];
}

/** What a write did: refused (stale token: nothing written) or accepted (with how many were new). */
export type WriteResult =
  | { accepted: true; added: number; fencingToken: number }
  | { accepted: false; lastAcceptedToken: number; fencingToken: number };

/**
 * KEYS: fence, memories (one org: one hash slot). ARGV: token, then id/json pairs.
 * Refuses a token older than the last accepted one (an ex-holder that lost its lease and woke up);
 * the same token may write again (one holder, several writes). New memories only: a fact already
 * stored keeps its first source, so retries and repeats are idempotent.
 */
const WRITE_SCRIPT = `
local token = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if token < last then return {0, last} end
if token > last then redis.call('SET', KEYS[1], ARGV[1]) end
local added = 0
for i = 2, #ARGV, 2 do
  added = added + redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
return {1, added}
`;

interface StoredRecord extends StoredMemory {
  embedding: number[];
}

/**
 * The host's memory store: one Redis hash per org, written only through a Lua script that
 * checks the writer's fencing token. The org lock guarantees one holder at a time; the fence
 * makes a holder that was paused past its lease (and no longer holds the lock) harmless.
 */
export class FencedMemoryStore {
  constructor(
    private readonly redis: HostRedis,
    private readonly keys: HostKeys,
  ) {}

  /** Writes `memories` for `orgId` if `fencingToken` is not older than the last accepted one. */
  async write(orgId: string, fencingToken: number, memories: readonly MemoryToWrite[]): Promise<WriteResult> {
    if (!Number.isSafeInteger(fencingToken) || fencingToken < 0) throw new RangeError(`fencingToken must be a whole number >= 0, got ${fencingToken}`);
    const storedAt = new Date().toISOString();
    const args: string[] = [String(fencingToken)];
    for (const m of memories) {
      const record: StoredRecord = {
        id: m.id,
        text: m.text,
        workstreamId: m.workstreamId,
        turnId: m.turnId,
        fencingToken,
        dimensions: m.embedding.length,
        storedAt,
        embedding: m.embedding,
      };
      args.push(m.id, JSON.stringify(record));
    }
    const keys = [this.keys.memoryFence(orgId), this.keys.memories(orgId)];
    const [ok, n] = (await this.redis.eval(WRITE_SCRIPT, keys.length, ...keys, ...args)) as [number, number];
    // Totals for metrics, across orgs (a separate key: it is in another slot on a Cluster).
    const stats = this.redis.multi();
    if (ok === 1) stats.hincrby(this.keys.storeStats, 'accepted', 1).hincrby(this.keys.storeStats, 'added', n);
    else stats.hincrby(this.keys.storeStats, 'refused', 1);
    await stats.exec();
    return ok === 1 ? { accepted: true, added: n, fencingToken } : { accepted: false, lastAcceptedToken: n, fencingToken };
  }

  /** The org's memories, oldest first, without their vectors. */
  async list(orgId: string): Promise<StoredMemory[]> {
    const raw = await this.redis.hvals(this.keys.memories(orgId));
    return raw
      .map((json) => {
        const { embedding: _embedding, ...memory } = JSON.parse(json) as StoredRecord;
        return memory;
      })
      .sort((a, b) => a.storedAt.localeCompare(b.storedAt) || a.id.localeCompare(b.id));
  }

  /** How many memories the org has. */
  count(orgId: string): Promise<number> {
    return this.redis.hlen(this.keys.memories(orgId));
  }

  /** The last fencing token accepted for the org (0 before any write). */
  async lastAcceptedToken(orgId: string): Promise<number> {
    return Number((await this.redis.get(this.keys.memoryFence(orgId))) ?? 0);
  }
}
