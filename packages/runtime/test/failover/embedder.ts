/**
 * The drill's embedding traffic: through the producer's cache, a rotating set of 40 texts (hits)
 * plus one new text per call (a Redis lookup), each call's vectors checked; and after the
 * failover a fresh runtime (empty in-process LRU) that reads the warm set back from Redis.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LotaRuntime } from '../../src/index.js';
import { cachedLocalVector, localProvider } from '../helpers.js';
import { now, roleRuntime, type DrillContext, type DrillResult, type EmbedRecord } from './records.js';

/** Pause between two embed calls. */
const PACING_MS = 25;

export interface Embedder {
  /** The warm set: texts every few calls ask for again. */
  readonly texts: readonly string[];
  readonly embeds: EmbedRecord[];
  /** Ends the loop after its current call. */
  stop(): Promise<void>;
}

const correct = (texts: readonly string[], vectors: ReadonlyArray<number[] | undefined>): boolean =>
  texts.every((t, i) => JSON.stringify(vectors[i]) === JSON.stringify(cachedLocalVector(t)));

/** Embeds through `runtime`'s cache until stopped. */
export function startEmbedder(runtime: LotaRuntime): Embedder {
  const texts = Array.from({ length: 40 }, (_, i) => `cached text ${i}`);
  const embeds: EmbedRecord[] = [];
  let embedding = true;
  const loop = (async (): Promise<void> => {
    for (let i = 0; embedding; i++) {
      const batch = [texts[i % texts.length]!, `fresh text ${i}`];
      const rec: EmbedRecord = { start: now(), end: 0, texts: batch.length, correct: false };
      try {
        rec.correct = correct(batch, await runtime.embeddings.embed(batch));
      } catch (err) {
        rec.error = (err as Error).message;
      }
      rec.end = now();
      embeds.push(rec);
      await sleep(PACING_MS);
    }
  })();
  return {
    texts,
    embeds,
    async stop() {
      embedding = false;
      await loop;
    },
  };
}

/** The cache after the failover: a fresh runtime reads `texts` (warmed before the kill) from Redis. */
export async function readWarmSet(ctx: DrillContext, texts: readonly string[]): Promise<{ reader: LotaRuntime; result: DrillResult['lateReader'] }> {
  const reader = await roleRuntime(ctx, 'reader', { aiGateway: { embeddingProvider: localProvider() } });
  await reader.connect();
  const vectors = await reader.embeddings.embed([...texts]);
  const { hits, memoryHits, misses, errors } = reader.embeddings.stats();
  return { reader, result: { correct: correct(texts, vectors), hits, memoryHits, misses, errors } };
}
