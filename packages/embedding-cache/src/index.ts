export { createEmbeddingCache, EmbeddingCache } from './embedding-cache.js';
export type { EmbeddingCacheStats, EmbedManyOptions } from './embedding-cache.js';
export type { EmbeddingCacheOptions, EmbeddingCacheSettings, ResolvedEmbeddingCacheOptions, OptionIssue, OptionsResult } from './options.js';
export { resolveEmbeddingCacheOptions, DEFAULTS as EMBEDDING_CACHE_DEFAULTS } from './options.js';
export type { EmbeddingProvider } from './provider.js';
export { cacheKey, KEY_VERSION } from './cache-key.js';
export type { Logger } from '@lota/shared';
export { LotaError, ConfigError, InvalidArgumentError, ProviderInvalidError } from './errors.js';
export type { EmbeddingCacheErrorCode } from './errors.js';
