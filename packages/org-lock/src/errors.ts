import { ConfigError, errorClass, InvalidArgumentError, LotaError, RedisUnreachableError } from '@lota/shared';

/** Stable machine-readable codes of every error `@lota/org-lock` throws. */
export type LockErrorCode = 'CONFIG_INVALID' | 'INVALID_ARGUMENT' | 'LOCK_TIMEOUT' | 'LOCK_LOST' | 'REDIS_UNREACHABLE' | 'LOCK_CLOSED';

/**
 * Every error of `@lota/org-lock` is a {@link LotaError}: a literal `name`, a stable `code`,
 * `cause` when there is one. Shared with the other packages (one class per code):
 * {@link ConfigError} (`createRedisLock` options are wrong), {@link InvalidArgumentError} (a
 * call argument is wrong: an empty scope, a bad TTL; thrown before any Redis call),
 * {@link RedisUnreachableError} (Redis, or a majority of the masters, did not answer in time to
 * acquire; `scope` says which lock, and `fn` did not run).
 */
export { ConfigError, InvalidArgumentError, LotaError, RedisUnreachableError };

/** The lock was not acquired within `acquireTimeoutMs` because others held it. `fn` did not run. */
export class LockTimeoutError extends errorClass('LOCK_TIMEOUT', 'LockTimeoutError') {
  readonly scope: string;
  constructor(scope: string, timeoutMs: number, detail = '') {
    super(`@lota/org-lock: could not acquire '${scope}' within ${timeoutMs} ms (acquireTimeoutMs): it stayed held by another holder${detail}. fn did not run.`);
    this.scope = scope;
  }
}

/**
 * The lease ended while `fn` ran (an extension was refused or failed until the lease ran out,
 * or the process stalled past it). `ctx.signal` aborted at that moment; `withLock` rejects with
 * this once `fn` settles. Anything `fn` wrote after the loss must be fenced by `fencingToken`.
 */
export class LockLostError extends errorClass('LOCK_LOST', 'LockLostError') {
  readonly scope: string;
  readonly fencingToken: number;
  constructor(scope: string, fencingToken: number, reason: string, options?: { cause?: unknown }) {
    super(`@lota/org-lock: lost the lock on '${scope}' (fencing token ${fencingToken}) while fn ran: ${reason}.`, options);
    this.scope = scope;
    this.fencingToken = fencingToken;
  }
}

/** `close()` was called on this lock. */
export class LockClosedError extends errorClass('LOCK_CLOSED', 'LockClosedError') {
  constructor() {
    super('@lota/org-lock: withLock() was called after close(); create a new lock with createRedisLock().');
  }
}
