import type { Cluster, Redis } from 'ioredis';

/** The client the host's own data goes through: `runtime.redis.getConnection()` (a Redis or a Cluster). */
export type HostRedis = Redis | Cluster;

/** One segment of a key: ids may hold any character, so they are percent-encoded (no ':' or braces survive). */
function seg(id: string): string {
  return encodeURIComponent(id);
}

/**
 * Every Redis key the host itself writes, under `<prefix>:host:` (the runtime's own keys are
 * `<prefix>:...`). Per-org keys share the hash tag `{<org>}` so each Lua script touches one slot;
 * the global counters share `{stats}`.
 */
export function hostKeys(prefix: string) {
  const base = `${prefix}:host`;
  const org = (orgId: string) => `${base}:{${seg(orgId)}}`;
  // Global counters share one hash tag, so a MULTI over them stays on one slot.
  const stats = `${base}:{stats}`;
  return {
    /** List of a workstream's turns (JSON), in arrival order. */
    turns: (orgId: string, workstreamId: string) => `${org(orgId)}:turns:${seg(workstreamId)}`,
    /** Set of the turn ids already recorded for a workstream (a re-sent turn is not appended twice). */
    turnIds: (orgId: string, workstreamId: string) => `${org(orgId)}:turn-ids:${seg(workstreamId)}`,
    /** Hash memoryId -> memory JSON. */
    memories: (orgId: string) => `${org(orgId)}:memories`,
    /** The last fencing token the memory store accepted for an org. */
    memoryFence: (orgId: string) => `${org(orgId)}:memory-fence`,
    /** Hash of a workstream's digest. */
    digest: (orgId: string, workstreamId: string) => `${org(orgId)}:digest:${seg(workstreamId)}`,
    /** Set of workstream ids an org has digests for. */
    digestIndex: (orgId: string) => `${org(orgId)}:digests`,
    /** Holders inside an org's memory lock right now (INCR on entry, DECR on exit). */
    holders: (orgId: string) => `${org(orgId)}:lock-holders`,
    /** Hash orgId -> the most holders ever seen inside that org's lock at once (must stay 1). */
    maxHolders: `${stats}:lock-max-holders`,
    /** Stream of org-lock waits: { ms, org }. */
    lockWaits: `${stats}:lock-waits`,
    /** Hash "<queue>|<outcome>" -> attempts (outcome: completed, retried, failed). */
    jobOutcomes: `${stats}:job-outcomes`,
    /** Hash of the workers' embedding-cache counters (hits, misses, memoryHits, providerCalls, errors, coalesced, writesDropped). */
    cacheStats: `${stats}:embedding-cache`,
    /** Hash: calls and texts the embedding provider itself saw. */
    providerStats: `${stats}:embedding-provider`,
    /** Hash: fenced memory-store writes accepted / refused, memories added. */
    storeStats: `${stats}:memory-store`,
    /** Sorted set workerName -> heartbeat expiry (ms since epoch). */
    workers: `${base}:workers`,
  };
}

export type HostKeys = ReturnType<typeof hostKeys>;
