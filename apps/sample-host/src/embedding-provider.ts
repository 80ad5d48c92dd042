import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmbeddingProvider } from '@lota/runtime';
import type { HostKeys, HostRedis } from './keys.js';

export interface LocalEmbeddingProviderOptions {
  /** Where the provider counts its calls, so every process's calls add up (read at call time: the runtime connects later). */
  redis: () => HostRedis;
  keys: HostKeys;
  dimensions: number;
  /** Simulated network + model time per call. */
  latencyMs: number;
}

/** mulberry32: a tiny, fast PRNG; the same seed always gives the same sequence. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A unit vector seeded by the text's sha256: the same text always gets the same vector, in any process. */
export function hashVector(text: string, dimensions: number): number[] {
  const seed = createHash('sha256').update(text).digest().readUInt32LE(0);
  const next = mulberry32(seed);
  const v = Array.from({ length: dimensions }, () => next() * 2 - 1);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/**
 * A deterministic stand-in for a hosted embedding model: hash-seeded vectors after a simulated
 * latency, each call counted in Redis (calls and texts), so the demo can tell calls made from
 * calls the cache saved.
 */
export function createLocalEmbeddingProvider(opts: LocalEmbeddingProviderOptions): EmbeddingProvider {
  const { redis, keys, dimensions, latencyMs } = opts;
  return {
    model: 'sample-host/hash-embed-v1',
    dimensions,
    async embed(texts: string[]): Promise<number[][]> {
      // Counting is best-effort: a counter must never make embedding fail.
      await redis()
        .multi()
        .hincrby(keys.providerStats, 'calls', 1)
        .hincrby(keys.providerStats, 'texts', texts.length)
        .exec()
        .catch(() => undefined);
      if (latencyMs > 0) await sleep(latencyMs);
      return texts.map((t) => hashVector(t, dimensions));
    },
  };
}
