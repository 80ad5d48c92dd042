/** How the embeddings suite times a side, rotates the sides, and counts what the cache did. */
import { isDeepStrictEqual } from 'node:util';
import type { EmbeddingCache, EmbeddingProvider } from '@lota/embedding-cache';
import { waitFor } from '@lota/redis-testkit';
import { median, msSince } from '../stats.js';
import { TEXTS, type Env } from './data.js';

/** Measured batches per side (latency rows are their median), after WARMUP untimed rounds. */
export const REPS = 15;
export const WARMUP = 3;

export interface Tally {
  /** Cache counters over the measured repetitions (ours only, warm-up rounds excluded). */
  misses: number;
  errors: number;
  memoryHits: number;
  hits: number;
}

export const emptyTally = (): Tally => ({ misses: 0, errors: 0, memoryHits: 0, hits: 0 });

/** Times one embedMany batch and adds what the cache counted during it to `tally`. */
export async function timeOurs(env: Env, cache: EmbeddingCache, p: EmbeddingProvider, tally?: Tally): Promise<number> {
  const before = cache.stats();
  const t0 = process.hrtime.bigint();
  const out = await cache.embedMany(p, env.texts);
  const ms = msSince(t0);
  if (out.length !== TEXTS) throw new Error(`embedMany returned ${out.length} vectors for ${TEXTS} texts`);
  const after = cache.stats();
  if (tally) {
    tally.misses += after.misses - before.misses;
    tally.errors += after.errors - before.errors;
    tally.memoryHits += after.memoryHits - before.memoryHits;
    tally.hits += after.hits - before.hits;
  }
  return ms;
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return msSince(t0);
}

/**
 * `warmup` untimed rounds, then `reps` rounds; each round runs every side once, the order rotating
 * by one each round; returns each side's measured milliseconds. A side is told whether its round
 * counts.
 */
export async function rotate<S extends string>(reps: number, sides: Record<S, (measured: boolean) => Promise<number>>, warmup = WARMUP): Promise<Record<S, number[]>> {
  const names = Object.keys(sides) as S[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<S, number[]>;
  for (let round = 0; round < warmup + reps; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length] as S);
    for (const side of order) {
      const measured = round >= warmup;
      const ms = await sides[side](measured);
      if (measured) out[side].push(ms);
    }
  }
  return out;
}

/** Waits until the cache's fire-and-forget writes have landed: DBSIZE reaches `keys`. */
export async function writesLanded(env: Env, keys: number): Promise<void> {
  await waitFor(async () => ((await env.admin.dbsize()) >= keys ? true : undefined), { timeoutMs: 10_000, intervalMs: 5, description: `${keys} keys in Redis` });
}

/** Fills Redis (and the LRU, if any) with one embedMany of every text. */
export async function warm(env: Env, cache: EmbeddingCache, p: EmbeddingProvider, expectedKeys: number): Promise<void> {
  await cache.embedMany(p, env.texts);
  await writesLanded(env, expectedKeys);
}

/** Our answer must be exactly the anchor's (float32 values, in order); otherwise the comparison is meaningless. */
export async function checkSame(env: Env, label: string, ours: Promise<number[][]>, anchor: Promise<number[][]>): Promise<void> {
  const [a, b] = await Promise.all([ours, anchor]);
  if (!isDeepStrictEqual(a, b)) env.ctx.log(`WARNING: ${label}: ours and the anchor returned different vectors`);
}

export interface Spread {
  p50: number;
  min: number;
  max: number;
}
export const spread = (v: readonly number[]): Spread => ({ p50: median(v), min: Math.min(...v), max: Math.max(...v) });
