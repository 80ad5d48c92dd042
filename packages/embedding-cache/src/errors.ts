import { ConfigError, errorClass, InvalidArgumentError, LotaError } from '@lota/shared';

/** Stable machine-readable codes of every error `@lota/embedding-cache` throws. */
export type EmbeddingCacheErrorCode = 'CONFIG_INVALID' | 'INVALID_ARGUMENT' | 'PROVIDER_INVALID';

/**
 * Every error of `@lota/embedding-cache` is a {@link LotaError}. The cache itself never throws
 * because of Redis: only bad input, a bad provider answer, or bad options are errors. Shared
 * with the other packages (one class per code): {@link ConfigError} (`createEmbeddingCache`
 * options are wrong), {@link InvalidArgumentError} (texts that are not strings, options that
 * are not plain JSON...; nothing was embedded or cached).
 */
export { ConfigError, InvalidArgumentError, LotaError };

/** The provider is unusable (no model name) or answered wrongly (count, mixed dimensions, a value not finite in float32). Nothing of that answer was cached. */
export class ProviderInvalidError extends errorClass('PROVIDER_INVALID', 'ProviderInvalidError') {}
