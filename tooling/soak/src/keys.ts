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
    /** Prefix of the harness's FencedStore (`<store>:{org:<id>}:last|accepted|value`). */
    store: `${base}:store`,
    /** Hash memoryId -> memory JSON: the facts a write the fenced store accepted adds. */
    memories: (orgId: string) => `${org(orgId)}:memories`,
    /** Hash of one workstream's digest. */
    digest: (orgId: string, workstreamId: string) => `${org(orgId)}:digest:${seg(workstreamId)}`,
  };
}

export type SoakKeys = ReturnType<typeof soakKeys>;

