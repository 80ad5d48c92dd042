/**
 * @lota/embedding-cache against the raw ways of keeping embeddings in Redis, on one private
 * redis-server, in one process, in one run.
 *
 * 1 000 distinct texts, a deterministic 1536-dimension provider (a seeded PRNG per text, values
 * rounded to float32 like a real model's output; no network). One ioredis client is shared by
 * every side; a second one does FLUSHALL / DBSIZE / MEMORY USAGE and is never used by the code
 * under test. The database is flushed before every case; inside a case the sides alternate
 * (rotating which goes first) and every latency row is the median of the repetitions, each
 * repetition one batch of 1 000 texts, after untimed warm-up batches.
 *
 * Fairness: every side derives its 1 000 keys inside the timed region (a raw caller has to hash
 * its texts too), with the same function (`cache.keyFor`, SHA-256), so the ratio shows what the
 * cache adds beyond the work any Redis-backed embedding cache must do.
 */
import { withBenchRedis } from '../server.js';
import type { BenchContext, SuiteResult } from '../types.js';
import { coldBatch, jsonStrings, memoryHits, redisHits } from './cases.js';
import { makeTexts, TEXTS, vectorOf, type Env } from './data.js';
import { REPS } from './measure.js';
import { details, rows, tallyText } from './report.js';

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const texts = makeTexts();
  if (new Set(texts).size !== TEXTS) throw new Error('texts are not distinct');
  const vectors = new Map(texts.map((t) => [t, vectorOf(t)]));
  return withBenchRedis(ctx, async ({ client: redis, admin }) => {
    const env: Env = { ctx, redis, admin, texts, vectors };
    const c1 = await redisHits(env);
    const c2 = await jsonStrings(env);
    const c3 = await memoryHits(env);
    const c4 = await coldBatch(env);
    for (const [name, t, expectMemory] of [
      ['1', c1.tally, false],
      ['2', c2.tally, false],
      ['3', c3.tally, true],
    ] as const) {
      if (t.misses > 0 || t.errors > 0 || (expectMemory && t.memoryHits !== t.hits)) {
        ctx.log(`WARNING: case ${name} was not all ${expectMemory ? 'memory' : 'Redis'} hits: ${tallyText(t, REPS)}`);
      }
    }
    return { rows: rows(c1, c2, c3, c4), extraMarkdown: details(c1, c2, c3, c4) };
  });
}
