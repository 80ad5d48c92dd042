import { LRUCache } from 'lru-cache';

/** Vector lengths remembered per model/dimensions/options family; bounded in case options vary per call. */
const MAX_KNOWN_FAMILIES = 1_024;

/**
 * The in-process tier of one cache, shared by its lookup path and its provider calls: the LRU,
 * the vectors just embedded, and the vector length each family returned.
 */
export class LocalVectors {
  /** The LRU of the `memory` option; none with `memory: false`. */
  readonly memory: LRUCache<string, Float32Array> | undefined;
  /**
   * Vectors just embedded whose write-back has not settled: findable in-process until Redis has
   * them (even with `memory: false`). Bounded by the write budget plus calls waiting for it.
   */
  readonly fresh = new Map<string, Float32Array>();
  /** Vector length each model/dimensions/options family returned last: a stored vector of another length is corrupt. */
  readonly knownDims = new LRUCache<string, number>({ max: MAX_KNOWN_FAMILIES });

  constructor(memory: Readonly<{ maxEntries: number }> | false, ttlSeconds: number) {
    if (memory !== false) this.memory = new LRUCache({ max: memory.maxEntries, ttl: ttlSeconds * 1_000 });
  }

  /** A vector held in-process: the LRU, or a fresh one whose write-back has not settled. */
  get(key: string): Float32Array | undefined {
    return this.memory?.get(key) ?? (this.fresh.size > 0 ? this.fresh.get(key) : undefined);
  }
}
