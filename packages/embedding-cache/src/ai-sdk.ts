import type { EmbeddingCache } from './embedding-cache.js';

/*
 * Structural copies of the few AI SDK (v5+, `@ai-sdk/provider` EmbeddingModelV4) types this
 * middleware touches, so the package needs no AI SDK dependency; the real types are assignable.
 */
interface EmbedCallOptions {
  values: string[];
  dimensions?: number;
  abortSignal?: AbortSignal;
  providerOptions?: Record<string, Record<string, unknown>>;
  headers?: Record<string, string | undefined>;
}
/** The parts of a `doEmbed` result this middleware reads; the rest passes through untouched. */
interface EmbedResultLike {
  embeddings: number[][];
  usage?: { tokens: number };
  warnings: unknown[];
}
interface EmbeddingModelLike<R extends EmbedResultLike> {
  readonly provider: string;
  readonly modelId: string;
  doEmbed(options: EmbedCallOptions): PromiseLike<R>;
}

/** What `wrapEmbeddingModel({ model, middleware })` accepts. */
export interface EmbeddingCacheMiddleware {
  readonly specificationVersion: 'v4';
  wrapEmbed<R extends EmbedResultLike>(options: { doEmbed: () => PromiseLike<R>; params: EmbedCallOptions; model: EmbeddingModelLike<R> }): Promise<R>;
}

/**
 * AI SDK middleware: `wrapEmbeddingModel({ model, middleware: embeddingCacheMiddleware(cache) })`.
 * Cached values skip the model; the rest go to it in one call (with the caller's options, abort
 * signal and headers). The cache key includes the provider, the model id, `dimensions` and
 * `providerOptions` (plain JSON values only: anything else is `INVALID_ARGUMENT`). Values another
 * request is already embedding are shared; if that request aborts or fails, this one re-asks the
 * model with its own options and never sees the other's error. Token usage counts only what the
 * model actually embedded for this call.
 */
export function embeddingCacheMiddleware(cache: EmbeddingCache): EmbeddingCacheMiddleware {
  return {
    specificationVersion: 'v4',
    async wrapEmbed<R extends EmbedResultLike>({ params, model }: { doEmbed: () => PromiseLike<R>; params: EmbedCallOptions; model: EmbeddingModelLike<R> }): Promise<R> {
      let tokens = 0;
      let last: R | undefined;
      const warnings: unknown[] = [];
      const embeddings = await cache.embedMany(
        {
          model: `${model.provider}:${model.modelId}`,
          ...(params.dimensions === undefined ? {} : { dimensions: params.dimensions }),
          ...(params.providerOptions === undefined ? {} : { options: params.providerOptions }),
          embed: async (values) => {
            const result = await model.doEmbed({ ...params, values });
            tokens += result.usage?.tokens ?? 0;
            warnings.push(...result.warnings);
            last = result;
            return result.embeddings;
          },
        },
        params.values,
        // The caller's abort releases it even while it waits on another caller's model call.
        params.abortSignal === undefined ? {} : { signal: params.abortSignal },
      );
      // The model's own result (metadata, response) when it was called; a plain one when all were cached.
      return { ...(last ?? {}), embeddings, usage: { tokens }, warnings } as unknown as R;
    },
  };
}
