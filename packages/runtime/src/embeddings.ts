import type { EmbeddingCache, EmbeddingCacheStats, EmbeddingProvider } from '@lota/embedding-cache';
import { NotConfiguredError } from './errors.js';

/** `runtime.embeddings`: the configured provider behind the embedding cache. */
export interface RuntimeEmbeddings {
  /** The provider's model name (undefined without a provider). */
  readonly model: string | undefined;
  /** Vectors for `texts`, in order, through the cache. */
  embed(texts: string[]): Promise<number[][]>;
  /** The cache's counters. */
  stats(): EmbeddingCacheStats;
}

export function runtimeEmbeddings(cache: EmbeddingCache, provider: EmbeddingProvider | undefined): RuntimeEmbeddings {
  return {
    model: provider?.model,
    async embed(texts) {
      if (!provider) {
        throw new NotConfiguredError(
          '@lota/runtime: runtime.embeddings needs aiGateway.embeddingProvider in the config; or use runtime.embeddingCache.embedMany(provider, texts) with your own provider.',
        );
      }
      return cache.embedMany(provider, texts);
    },
    stats: () => cache.stats(),
  };
}
