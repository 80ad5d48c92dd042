import { ProviderInvalidError } from './errors.js';

/** Anything that turns texts into vectors. */
export interface EmbeddingProvider {
  /** The model's name: part of every cache key, so a model change never serves an old vector. */
  model: string;
  /** Output dimensions, when the provider is asked for a size (part of the key, and checked on read). */
  dimensions?: number;
  /**
   * Provider options that change the vectors (task type, normalisation...): part of the key.
   * Plain JSON values only (null, boolean, finite number, string, array, plain object); anything
   * else is `INVALID_ARGUMENT`.
   */
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

/** The largest float32 (2^128 - 2^104): anything larger in magnitude is Infinity once stored. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Checks a provider answer before anything is cached or returned, and converts it to the float32
 * values that are stored and returned: one vector per text, all of the same length (the declared
 * one, if any), every number finite in float32 (a float64 such as 1e39 would become Infinity,
 * which no reader accepts: refused, never stored or returned).
 */
export function checkVectors(provider: EmbeddingProvider, asked: number, vectors: unknown): Float32Array[] {
  const name = `provider '${provider.model}'`;
  if (!Array.isArray(vectors) || vectors.length !== asked) {
    throw new ProviderInvalidError(
      `@lota/embedding-cache: ${name} returned ${Array.isArray(vectors) ? `${vectors.length} vectors` : 'no array'} for ${asked} texts; it must return one vector per text, in order. Nothing was cached.`,
    );
  }
  const dims = provider.dimensions ?? (vectors[0] as unknown[] | undefined)?.length;
  const out = new Array<Float32Array>(vectors.length);
  for (let i = 0; i < vectors.length; i++) {
    const v: unknown = vectors[i];
    if (!Array.isArray(v) || v.length === 0 || v.length !== dims) {
      throw new ProviderInvalidError(
        `@lota/embedding-cache: ${name} returned a vector of length ${Array.isArray(v) ? v.length : 'n/a'} at index ${i}, expected ${String(dims)}. Nothing was cached.`,
      );
    }
    const f = new Float32Array(v.length);
    // Indexed, not for...of: this runs over every number of every fresh vector.
    for (let j = 0; j < v.length; j++) {
      const x: unknown = v[j];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new ProviderInvalidError(`@lota/embedding-cache: ${name} returned a non-finite number (${String(x)}) in the vector at index ${i}. Nothing was cached.`);
      }
      f[j] = x;
      if (!Number.isFinite(f[j])) {
        throw new ProviderInvalidError(
          `@lota/embedding-cache: ${name} returned ${x} in the vector at index ${i}, beyond the float32 range (±${FLOAT32_MAX}) vectors are stored in. Nothing was cached; scale or clip the provider's output.`,
        );
      }
    }
    out[i] = f;
  }
  return out;
}
