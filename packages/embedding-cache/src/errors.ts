/** Stable machine-readable codes of every error `@lota/embedding-cache` throws. */
export type EmbeddingCacheErrorCode = 'CONFIG_INVALID' | 'INVALID_ARGUMENT' | 'PROVIDER_INVALID';

/**
 * Base of every error thrown by `@lota/embedding-cache`. The cache itself never throws because
 * of Redis: only bad input, a bad provider answer, or bad options are errors.
 */
export class LotaError extends Error {
  override readonly name: string = 'LotaError';
  readonly code: EmbeddingCacheErrorCode;
  constructor(code: EmbeddingCacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `createEmbeddingCache` options are wrong. */
export class CacheConfigError extends LotaError {
  override readonly name = 'CacheConfigError';
  declare readonly code: 'CONFIG_INVALID';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** What you passed is wrong (texts that are not strings, options that are not plain JSON...). Nothing was embedded or cached. */
export class InvalidArgumentError extends LotaError {
  override readonly name = 'InvalidArgumentError';
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** The provider is unusable (no model name) or answered wrongly (count, mixed dimensions, a value not finite in float32). Nothing of that answer was cached. */
export class ProviderInvalidError extends LotaError {
  override readonly name = 'ProviderInvalidError';
  declare readonly code: 'PROVIDER_INVALID';
  constructor(message: string) {
    super('PROVIDER_INVALID', message);
  }
}
