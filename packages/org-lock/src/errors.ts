/** Stable machine-readable codes of every error `@lota/org-lock` throws. */
export type LockErrorCode = 'CONFIG_INVALID' | 'INVALID_ARGUMENT' | 'LOCK_TIMEOUT' | 'LOCK_LOST' | 'REDIS_UNREACHABLE' | 'LOCK_CLOSED';

/** Base of every error thrown by `@lota/org-lock`: literal `name`, stable `code`, `cause` when there is one. */
export class LotaError extends Error {
  override readonly name: string = 'LotaError';
  readonly code: LockErrorCode;
  constructor(code: LockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `createRedisLock` options are wrong. */
export class LockConfigError extends LotaError {
  override readonly name = 'LockConfigError';
  declare readonly code: 'CONFIG_INVALID';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** A call argument is wrong (empty scope, TTL <= 0...). Thrown before any Redis call. */
export class InvalidArgumentError extends LotaError {
  override readonly name = 'InvalidArgumentError';
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** The lock was not acquired within `acquireTimeoutMs` because others held it. `fn` did not run. */
export class LockTimeoutError extends LotaError {
  override readonly name = 'LockTimeoutError';
  declare readonly code: 'LOCK_TIMEOUT';
  readonly scope: string;
  constructor(scope: string, timeoutMs: number, detail = '') {
    super('LOCK_TIMEOUT', `@lota/org-lock: could not acquire '${scope}' within ${timeoutMs} ms (acquireTimeoutMs): it stayed held by another holder${detail}. fn did not run.`);
    this.scope = scope;
  }
}

/**
 * The lease ended while `fn` ran (an extension was refused or failed until the lease ran out,
 * or the process stalled past it). `ctx.signal` aborted at that moment; `withLock` rejects with
 * this once `fn` settles. Anything `fn` wrote after the loss must be fenced by `fencingToken`.
 */
export class LockLostError extends LotaError {
  override readonly name = 'LockLostError';
  declare readonly code: 'LOCK_LOST';
  readonly scope: string;
  readonly fencingToken: number;
  constructor(scope: string, fencingToken: number, reason: string, options?: { cause?: unknown }) {
    super('LOCK_LOST', `@lota/org-lock: lost the lock on '${scope}' (fencing token ${fencingToken}) while fn ran: ${reason}.`, options);
    this.scope = scope;
    this.fencingToken = fencingToken;
  }
}

/** Redis (or a majority of the Redis masters) did not answer in time to acquire. `fn` did not run. */
export class LockUnavailableError extends LotaError {
  override readonly name = 'LockUnavailableError';
  declare readonly code: 'REDIS_UNREACHABLE';
  readonly scope: string;
  constructor(scope: string, message: string, options?: { cause?: unknown }) {
    super('REDIS_UNREACHABLE', `@lota/org-lock: could not acquire '${scope}': ${message}. fn did not run.`, options);
    this.scope = scope;
  }
}

/** `close()` was called on this lock. */
export class LockClosedError extends LotaError {
  override readonly name = 'LockClosedError';
  declare readonly code: 'LOCK_CLOSED';
  constructor() {
    super('LOCK_CLOSED', '@lota/org-lock: withLock() was called after close(); create a new lock with createRedisLock().');
  }
}
