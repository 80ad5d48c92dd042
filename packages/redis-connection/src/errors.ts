import { ConfigError, LotaError, NotConnectedError, RedisUnreachableError } from '@lota/shared';

/** Stable machine-readable codes of every error `@lota/redis-connection` throws. */
export type LotaErrorCode = 'CONFIG_INVALID' | 'NOT_CONNECTED' | 'REDIS_UNREACHABLE';

/**
 * Every error of this package is a {@link LotaError} (a literal `name`, a stable `code`, `cause`
 * when there is one); messages name the package and option, say what to do, and never contain
 * a password. `CONFIG_INVALID` is a {@link ConfigError} (every problem by dot path in
 * `issues`), `NOT_CONNECTED` a {@link NotConnectedError} (a getter before `connect()` resolved
 * or after `disconnect()`), `REDIS_UNREACHABLE` a {@link RedisUnreachableError} (`connect()`
 * found no ready server within `connectTimeoutMs`). The same classes, by code, in every package.
 */
export { ConfigError, LotaError, NotConnectedError, RedisUnreachableError };
