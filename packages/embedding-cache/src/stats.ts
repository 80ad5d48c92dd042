/** Counters since the cache was created. */
export interface EmbeddingCacheStats {
  /** Texts served from the cache (memory or Redis). */
  hits: number;
  /** Texts that had to be embedded by the provider (a text re-issued after another caller's failed call counts again). */
  misses: number;
  /** Of `hits`, those served in-process: the LRU, or a fresh vector whose write-back has not settled yet. */
  memoryHits: number;
  /** Calls made to providers. */
  providerCalls: number;
  /** Cache-side failures that were absorbed (Redis down, slow, corrupt entries, failed writes): each became a miss or an uncached vector. */
  errors: number;
  /** Texts that shared a provider call already running (same text in a batch, or concurrent requests). */
  coalesced: number;
  /** Fresh vectors never sent to Redis because it was down, or stalled with the write budget full (never while it is healthy). */
  writesDropped: number;
}

/** Every counter at zero: the stats of a cache just created. */
export function emptyStats(): EmbeddingCacheStats {
  return { hits: 0, misses: 0, memoryHits: 0, providerCalls: 0, errors: 0, coalesced: 0, writesDropped: 0 };
}
