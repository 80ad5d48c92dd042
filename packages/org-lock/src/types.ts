/** What `fn` gets while it holds a lock. */
export interface LockContext {
  /** Aborts the moment the lease is lost (or the caller's own `signal` aborts). Check it before side effects. */
  readonly signal: AbortSignal;
  /** Strictly increases with every acquisition of this scope, across processes: give it to stores so they refuse stale writers. */
  readonly fencingToken: number;
  /** The scope this lock is on. */
  readonly scope: string;
}

/** Per-call options. */
export interface LockOptions {
  /** Lease length; extended automatically while `fn` runs (with `autoExtend`). */
  ttlMs?: number;
  /** Give up waiting after this long with `LockTimeoutError`. */
  acquireTimeoutMs?: number;
  /** Abort waiting (the call rejects with the signal's reason) and, once held, abort `ctx.signal`. */
  signal?: AbortSignal;
}

/**
 * Anything that can run `fn` while holding a lock on `scope`. The Redis lock is one; a host can
 * pass its own (check it with the conformance suite in `@lota/org-lock/conformance`).
 */
export interface LockAdapter {
  withLock<T>(scope: string, fn: (ctx: LockContext) => Promise<T>, opts?: LockOptions): Promise<T>;
}
