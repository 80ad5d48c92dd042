/** One segment of a key: ids are percent-encoded (no ':' or braces survive). */
function seg(id: string): string {
  return encodeURIComponent(id);
}

/**
 * The soak's own keys, under `<prefix>:data:` (the runtime's queues, lock and cache use
 * `<prefix>:{<queue>}:*`, `<prefix>:lock:*`, `<prefix>:emb:*`). Per-org keys share the hash
 * tag `{<org>}`; the soak always runs on one private redis-server.
 */
export function soakKeys(prefix: string) {
  const base = `${prefix}:data`;
  const org = (orgId: string) => `${base}:{${seg(orgId)}}`;
  return {
    /** Hash memoryId -> memory JSON (the fenced store). */
    memories: (orgId: string) => `${org(orgId)}:memories`,
    /** Last fencing token the store accepted for the org. */
    fence: (orgId: string) => `${org(orgId)}:fence`,
    /** Hash { worker, token }: who is inside the org's lock right now, by the probe. */
    holder: (orgId: string) => `${org(orgId)}:holder`,
    /** Hash "<worker>|<token>" -> "<jobId>|<enteredAtUs>": sections entered and not left yet. */
    open: (orgId: string) => `${org(orgId)}:open`,
    /** List of "<worker>|<token>|<jobId>|<enteredAtUs>|<leftAtUs>": every completed section. */
    intervals: (orgId: string) => `${org(orgId)}:intervals`,
    /** Hash of one workstream's digest. */
    digest: (orgId: string, workstreamId: string) => `${org(orgId)}:digest:${seg(workstreamId)}`,
    /** Set of orgs that have probe data. */
    orgs: `${base}:orgs`,
    /** Set of worker names whose process has exited (the driver adds them on 'exit'). */
    dead: `${base}:dead`,
    /** Hash worker -> Redis time (µs) at which the driver saw the process exit. */
    deaths: `${base}:deaths`,
    /** List of overlaps the probe saw at entry: JSON lines. */
    overlaps: `${base}:overlaps`,
    /**
     * List of "<S|D|F>|<queue>|<jobId>|<worker>|<detail>": processor starts (detail: attempts made),
     * successes (extraction: fencing token; digest: "<org>|<workstream>|<seq>") and failed attempts (the error).
     */
    runLog: `${base}:run-log`,
    /** Hash of counters: store accepted / refused / added. */
    counters: `${base}:counters`,
  };
}

export type SoakKeys = ReturnType<typeof soakKeys>;
