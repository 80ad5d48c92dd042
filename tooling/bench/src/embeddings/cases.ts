/** The embeddings suite's four cases, each on a flushed database. */
import { createEmbeddingCache } from '@lota/embedding-cache';
import { median } from '../stats.js';
import { provider, TEXTS, type Env } from './data.js';
import { checkSame, emptyTally, REPS, rotate, spread, timeIt, timeOurs, warm, writesLanded, type Spread, type Tally } from './measure.js';
import { decodeRawArrayFrom, jsonBatch, jsonKeyFor, keyFor, rawBatch, writeJson, type RawPhases } from './sides.js';

export const COLD_REPS = 9;
export const PROVIDER_DELAY_MS = 20;
/** Keys sampled (every TEXTS/SAMPLES-th text) for MEMORY USAGE. */
export const MEMORY_SAMPLES = 50;

export interface Phases {
  keys: number;
  mget: number;
  decode: number;
}

export interface Case1 {
  ours: Spread;
  raw: Spread;
  rawArrayFrom: Spread;
  phases: Phases;
  phasesArrayFrom: Phases;
  tally: Tally;
}

const medianPhases = (phases: readonly RawPhases[]): Phases => ({
  keys: median(phases.map((x) => x.keysMs)),
  mget: median(phases.map((x) => x.mgetMs)),
  decode: median(phases.map((x) => x.decodeMs)),
});

/** 1. Redis hits, LRU off, vs raw mgetBuffer + decode. */
export async function redisHits(env: Env): Promise<Case1> {
  env.ctx.log(`1. Redis hits (memory: false): ${TEXTS} texts x ${REPS} reps per side`);
  await env.admin.flushall();
  const cache = createEmbeddingCache({ redis: env.redis, memory: false });
  const p = provider(env);
  await warm(env, cache, p, TEXTS);
  await checkSame(env, 'Redis hits', cache.embedMany(p, env.texts), rawBatch(env, cache));
  await checkSame(env, 'Redis hits (Array.from)', cache.embedMany(p, env.texts), rawBatch(env, cache, undefined, decodeRawArrayFrom));
  const tally = emptyTally();
  const phases: RawPhases[] = [];
  const phasesArrayFrom: RawPhases[] = [];
  const runs = await rotate(REPS, {
    raw: (measured) => timeIt(() => rawBatch(env, cache, measured ? phases : undefined)),
    ours: (measured) => timeOurs(env, cache, p, measured ? tally : undefined),
    rawArrayFrom: (measured) => timeIt(() => rawBatch(env, cache, measured ? phasesArrayFrom : undefined, decodeRawArrayFrom)),
  });
  return {
    ours: spread(runs.ours),
    raw: spread(runs.raw),
    rawArrayFrom: spread(runs.rawArrayFrom),
    phases: medianPhases(phases),
    phasesArrayFrom: medianPhases(phasesArrayFrom),
    tally,
  };
}

export interface Case2 {
  ours: Spread;
  json: Spread;
  memOurs: number;
  memJson: number;
  lenOurs: number;
  lenJson: number;
  tally: Tally;
}

async function avgMemory(env: Env, keys: readonly string[]): Promise<{ memory: number; length: number }> {
  let memory = 0;
  let length = 0;
  for (const key of keys) {
    const used: unknown = await env.admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    if (typeof used !== 'number') throw new Error(`MEMORY USAGE ${key} returned ${String(used)}`);
    memory += used;
    length += await env.admin.strlen(key);
  }
  return { memory: memory / keys.length, length: length / keys.length };
}

/** 2. The same vectors as JSON text, LangChain style: latency including JSON.parse, and memory per entry. */
export async function jsonStrings(env: Env): Promise<Case2> {
  env.ctx.log(`2. JSON strings vs ours (memory: false): ${TEXTS} texts x ${REPS} reps per side, MEMORY USAGE of ${MEMORY_SAMPLES} keys each`);
  await env.admin.flushall();
  const cache = createEmbeddingCache({ redis: env.redis, memory: false });
  const p = provider(env);
  await writeJson(env, cache);
  await warm(env, cache, p, 2 * TEXTS);
  await checkSame(env, 'JSON', cache.embedMany(p, env.texts), jsonBatch(env, cache));
  const tally = emptyTally();
  const runs = await rotate(REPS, {
    json: () => timeIt(() => jsonBatch(env, cache)),
    ours: (measured) => timeOurs(env, cache, p, measured ? tally : undefined),
  });
  const sample = env.texts.filter((_, i) => i % (TEXTS / MEMORY_SAMPLES) === 0);
  const ours = await avgMemory(
    env,
    sample.map((t) => keyFor(cache, t)),
  );
  const json = await avgMemory(
    env,
    sample.map((t) => jsonKeyFor(cache, t)),
  );
  return { ours: spread(runs.ours), json: spread(runs.json), memOurs: ours.memory, memJson: json.memory, lenOurs: ours.length, lenJson: json.length, tally };
}

export interface Case3 {
  ours: Spread;
  raw: Spread;
  tally: Tally;
}

/** 3. In-process LRU hits vs the raw Redis path. */
export async function memoryHits(env: Env): Promise<Case3> {
  env.ctx.log(`3. in-process LRU hits (memory: { maxEntries: 2000 }): ${TEXTS} texts x ${REPS} reps per side`);
  await env.admin.flushall();
  const cache = createEmbeddingCache({ redis: env.redis, memory: { maxEntries: 2_000 } });
  const p = provider(env);
  await warm(env, cache, p, TEXTS);
  await checkSame(env, 'LRU hits', cache.embedMany(p, env.texts), rawBatch(env, cache));
  const tally = emptyTally();
  const runs = await rotate(REPS, {
    raw: () => timeIt(() => rawBatch(env, cache)),
    ours: (measured) => timeOurs(env, cache, p, measured ? tally : undefined),
  });
  return { ours: spread(runs.ours), raw: spread(runs.raw), tally };
}

export interface Case4 {
  ours: Spread;
  direct: Spread;
  oursCalls: number;
  directCalls: number;
  tally: Tally;
}

/** 4. Cold batch: nothing cached, a provider taking a fixed PROVIDER_DELAY_MS per call; ours vs calling the provider directly. */
export async function coldBatch(env: Env): Promise<Case4> {
  env.ctx.log(`4. cold batch, provider ${PROVIDER_DELAY_MS} ms per call: ${TEXTS} texts x ${COLD_REPS} reps per side`);
  const tally = emptyTally();
  const oursP = provider(env, PROVIDER_DELAY_MS);
  const directP = provider(env, PROVIDER_DELAY_MS);
  let oursBatches = 0;
  let directBatches = 0;
  const runs = await rotate(
    COLD_REPS,
    {
      direct: async () => {
        await env.admin.flushall();
        const ms = await timeIt(() => directP.embed(env.texts));
        directBatches++;
        return ms;
      },
      ours: async (measured) => {
        await env.admin.flushall();
        // A fresh cache each time: nothing in memory, nothing in Redis.
        const cache = createEmbeddingCache({ redis: env.redis, memory: false });
        const ms = await timeOurs(env, cache, oursP, measured ? tally : undefined);
        oursBatches++;
        await writesLanded(env, TEXTS); // its background writes must not overlap the next measurement
        return ms;
      },
    },
    1,
  );
  return { ours: spread(runs.ours), direct: spread(runs.direct), oursCalls: oursP.calls / oursBatches, directCalls: directP.calls / directBatches, tally };
}
