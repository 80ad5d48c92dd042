import { ConfigError, errorClass, InvalidArgumentError, LotaError, NotConnectedError, RedisUnreachableError } from '@lota/shared';

/** Stable codes of the errors `@lota/runtime` itself throws (the composed packages throw their own). */
export type RuntimeErrorCode = 'CONFIG_INVALID' | 'NOT_CONNECTED' | 'NOT_CONFIGURED';

/**
 * Every error of `@lota/runtime` and of the packages it composes is a {@link LotaError}: a
 * literal `name`, a stable `code`, `cause` when there is one. One code has one class in every
 * package, and `instanceof` works whichever package threw it: {@link ConfigError} (the config
 * is invalid; `issues` lists every problem of the whole config by dot path),
 * {@link NotConnectedError} (a part used before `connect()` resolved or after `disconnect()`),
 * {@link InvalidArgumentError} and {@link RedisUnreachableError} (thrown by the composed parts).
 */
export { ConfigError, InvalidArgumentError, LotaError, NotConnectedError, RedisUnreachableError };

/** `runtime.embeddings` was used without `aiGateway.embeddingProvider`. */
export class NotConfiguredError extends errorClass('NOT_CONFIGURED', 'NotConfiguredError') {}
