/** Stable machine-readable codes of every error this package throws. */
export type LotaErrorCode = 'CONFIG_INVALID' | 'NOT_CONNECTED' | 'REDIS_UNREACHABLE';

/**
 * Base of every error thrown by `@lota/redis-connection`: an `Error` with a literal `name`,
 * a stable string `code` to branch on, and the underlying error as `cause` when there is one.
 * Messages name the package and option, say what to do, and never contain a password.
 */
export class LotaError extends Error {
  override readonly name: string = 'LotaError';
  readonly code: LotaErrorCode;

  constructor(code: LotaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A config value is missing, of the wrong type, or malformed. `issues` lists every problem by dot path. */
export class ConfigError extends LotaError {
  override readonly name = 'ConfigError';
  declare readonly code: 'CONFIG_INVALID';
  readonly issues: ReadonlyArray<{ path: string; message: string }>;

  constructor(issues: ReadonlyArray<{ path: string; message: string }>) {
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n');
    super('CONFIG_INVALID', `@lota/redis-connection: invalid config:\n${lines}`);
    this.issues = issues;
  }
}

/** A getter was called before `connect()` resolved, or after `disconnect()`. */
export class NotConnectedError extends LotaError {
  override readonly name = 'NotConnectedError';
  declare readonly code: 'NOT_CONNECTED';

  constructor(message: string) {
    super('NOT_CONNECTED', message);
  }
}

/** `connect()` could not reach a ready server within `connectTimeoutMs`. */
export class RedisUnreachableError extends LotaError {
  override readonly name = 'RedisUnreachableError';
  declare readonly code: 'REDIS_UNREACHABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super('REDIS_UNREACHABLE', message, options);
  }
}
