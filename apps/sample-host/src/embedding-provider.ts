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

/**
 * A unit vector drawn from the text's SHAKE256 digest (an extendable-output hash: as many bytes as
 * the vector needs, four per value), so the same text gets the same vector in any process.
 */
export function hashVector(text: string, dimensions: number): number[] {
  const bytes = createHash('shake256', { outputLength: dimensions * 4 }).update(text).digest();
  const v = Array.from({ length: dimensions }, (_, i) => (bytes.readUInt32LE(i * 4) / 4_294_967_296) * 2 - 1);
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
