import { ProviderInvalidError } from './errors.js';

/** Anything that turns texts into vectors. */
export interface EmbeddingProvider {
  /** The model's name: part of every cache key, so a model change never serves an old vector. */
  model: string;
  /** Output dimensions, when the provider is asked for a size (part of the key, and checked on read). */
  dimensions?: number;
  /** Provider options that change the vectors (task type, normalisation...): part of the key. */
  options?: Record<string, unknown>;
  /** Vectors for `texts`, in the same order. */
  embed(texts: string[]): Promise<number[][]>;
}

export function checkProvider(provider: unknown): EmbeddingProvider {
  const p = provider as Partial<EmbeddingProvider> | null | undefined;
  if (typeof p !== 'object' || p === null || typeof p.embed !== 'function') {
    throw new ProviderInvalidError('@lota/embedding-cache: the provider must be an object with a model name and an embed(texts) function.');
  }
  if (typeof p.model !== 'string' || p.model.trim() === '') {
    throw new ProviderInvalidError('@lota/embedding-cache: provider.model must be a non-empty string: it is part of every cache key.');
  }
  if (p.dimensions !== undefined && (!Number.isInteger(p.dimensions) || p.dimensions < 1)) {
    throw new ProviderInvalidError(`@lota/embedding-cache: provider.dimensions must be a whole number >= 1, got ${String(p.dimensions)}.`);
  }
  return p as EmbeddingProvider;
}

/**
 * Checks a provider answer before anything is cached or returned: one vector per text, all of
 * the same length (the expected one, if known), every number finite.
 */
export function checkVectors(provider: EmbeddingProvider, asked: number, vectors: unknown): number[][] {
  const name = `provider '${provider.model}'`;
  if (!Array.isArray(vectors) || vectors.length !== asked) {
    throw new ProviderInvalidError(
      `@lota/embedding-cache: ${name} returned ${Array.isArray(vectors) ? `${vectors.length} vectors` : 'no array'} for ${asked} texts; it must return one vector per text, in order. Nothing was cached.`,
    );
  }
  const dims = provider.dimensions ?? (vectors[0] as unknown[] | undefined)?.length;
  for (let i = 0; i < vectors.length; i++) {
    const v: unknown = vectors[i];
    if (!Array.isArray(v) || v.length === 0 || v.length !== dims) {
      throw new ProviderInvalidError(
        `@lota/embedding-cache: ${name} returned a vector of length ${Array.isArray(v) ? v.length : 'n/a'} at index ${i}, expected ${String(dims)}. Nothing was cached.`,
      );
    }
    // Indexed, not for...of: this runs over every number of every fresh vector.
    for (let j = 0; j < v.length; j++) {
      const x: unknown = v[j];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new ProviderInvalidError(`@lota/embedding-cache: ${name} returned a non-finite number (${String(x)}) in the vector at index ${i}. Nothing was cached.`);
      }
    }
  }
  return vectors as number[][];
}
