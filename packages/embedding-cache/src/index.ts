export { createEmbeddingCache, EmbeddingCache } from './embedding-cache.js';
export type { EmbeddingCacheOptions, EmbeddingCacheStats, EmbedManyOptions } from './embedding-cache.js';
export type { EmbeddingProvider } from './provider.js';
export { cacheKey, KEY_VERSION } from './cache-key.js';
export { encodeVector, decodeVector, HEADER_BYTES } from './vector-codec.js';
export type { Logger } from './logger.js';
export { LotaError, CacheConfigError, InvalidArgumentError, ProviderInvalidError } from './errors.js';
export type { EmbeddingCacheErrorCode } from './errors.js';
