/** The Redis keys of one scope. */
export interface ScopeKeys {
  owner: string;
  fence: string;
  queue: string;
  expiries: string;
  tickets: string;
  /** The scope as it appears in the hash tag; release messages carry it to tell scopes apart. */
  tag: string;
}

/** The keys of the scope whose tag is `tag` (see {@link scopeKeys}). */
export function keysForTag(prefix: string, tag: string): ScopeKeys {
  const base = `${prefix}:lock:{${tag}}`;
  return {
    owner: `${base}:owner`,
    fence: `${base}:fence`,
    queue: `${base}:queue`,
    expiries: `${base}:queue-expiries`,
    tickets: `${base}:queue-tickets`,
    tag,
  };
}

/**
 * Keys live under `<prefix>:lock:`, apart from data keys, and carry the hash tag `{<scope>}`
 * so a scope's keys share a Cluster slot. Braces and `%` in a scope are percent-encoded so a
 * scope can never break out of its tag (and distinct scopes stay distinct).
 */
export function scopeKeys(prefix: string, scope: string): ScopeKeys {
  return keysForTag(prefix, scope.replace(/[%{}]/g, (c) => encodeURIComponent(c)));
}

export function releaseChannel(prefix: string): string {
  return `${prefix}:lock:released`;
}
