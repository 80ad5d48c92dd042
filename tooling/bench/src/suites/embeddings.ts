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
import { createEmbeddingCache, type EmbeddingCache, type EmbeddingProvider } from '@lota/embedding-cache';
import { HEADER_BYTES } from '@lota/embedding-cache/internal';
import { startRedis, waitFor } from '@lota/redis-testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { median, msSince, row } from '../stats.js';
import type { BenchContext, Row, SuiteResult } from '../types.js';

const SUITE = 'embeddings';
const TEXTS = 1_000;
const DIMS = 1_536;
const MODEL = 'bench-embed-1536';
const REPS = 15;
const WARMUP = 3;
const COLD_REPS = 9;
const PROVIDER_DELAY_MS = 20;
/** Keys sampled (every TEXTS/SAMPLES-th text) for MEMORY USAGE. */
const MEMORY_SAMPLES = 50;
/** Same length as the cache's 'lota' prefix, so the JSON keys are the same size as ours. */
const JSON_PREFIX = 'lcjs';

const RAW_ANCHOR = 'raw mgetBuffer + aligned copy + for-loop to number[]';
const RAW_ARRAY_FROM_ANCHOR = 'raw mgetBuffer + aligned copy + Array.from';
const JSON_ANCHOR = 'JSON strings (LangChain CacheBackedEmbeddings style): MGET + JSON.parse';

interface Env {
  ctx: BenchContext;
  /** The one client every side uses. */
  redis: Redis;
  /** FLUSHALL, DBSIZE, MEMORY USAGE; never used by the code under test. */
  admin: Redis;
  texts: string[];
  vectors: Map<string, number[]>;
}

// ---------------------------------------------------------------- data

/** FNV-1a of a string: the seed of its vector. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small deterministic PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Values in about [-0.1, 0.1], rounded to float32 (what embedding APIs return). */
function vectorOf(text: string): number[] {
  const next = mulberry32(fnv1a(text));
  return Array.from({ length: DIMS }, () => Math.fround((next() - 0.5) * 0.2));
}

const WORDS = ['redis', 'vector', 'cache', 'embedding', 'model', 'token', 'batch', 'memory', 'latency', 'queue', 'worker', 'lock', 'search', 'index'];

/** 1 000 distinct texts of 100-300 characters. */
function makeTexts(): string[] {
  const next = mulberry32(42);
  return Array.from({ length: TEXTS }, (_, i) => {
    const words: string[] = [`document ${i}:`];
    const length = 100 + Math.floor(next() * 200);
    while (words.join(' ').length < length) words.push(WORDS[Math.floor(next() * WORDS.length)] ?? 'x');
    return words.join(' ');
  });
}

function provider(env: Env, delayMs = 0): EmbeddingProvider & { calls: number } {
  const p = {
    model: MODEL,
    dimensions: DIMS,
    calls: 0,
    async embed(texts: string[]): Promise<number[][]> {
      p.calls++;
      if (delayMs > 0) await sleep(delayMs);
      return texts.map((t) => env.vectors.get(t) ?? vectorOf(t));
    },
  };
  return p;
}

// ---------------------------------------------------------------- the sides

const keyFor = (cache: EmbeddingCache, text: string): string => cache.keyFor(MODEL, text, { dimensions: DIMS });
const jsonKeyFor = (cache: EmbeddingCache, text: string): string => `${JSON_PREFIX}${keyFor(cache, text).slice(JSON_PREFIX.length)}`;

/**
 * The float32 values of a stored entry, copied into an aligned buffer (a Float32Array view over an
 * mgetBuffer Buffer usually throws: its byteOffset is rarely a multiple of 4). Assumes a
 * little-endian host, like every x86/ARM server.
 */
function alignedValues(buf: Buffer | null): Float32Array {
  if (!buf) throw new Error('raw anchor: a key is missing from Redis');
  const dims = buf.readUInt32LE(4);
  const aligned = new Float32Array(dims);
  new Uint8Array(aligned.buffer).set(buf.subarray(HEADER_BYTES, HEADER_BYTES + dims * 4));
  return aligned;
}

/** The straightforward decoder: aligned copy, then a plain indexed loop into a number[]. */
function decodeRaw(buf: Buffer | null): number[] {
  const aligned = alignedValues(buf);
  const out = new Array<number>(aligned.length);
  for (let i = 0; i < aligned.length; i++) out[i] = aligned[i] ?? 0;
  return out;
}

/**
 * The other obvious way to turn the values into a number[]: Array.from(Float32Array). It gives
 * the same numbers, but V8 runs it through the iterator protocol: about 20x slower than the loop
 * for 1 000 x 1536 values. Shown as a second anchor because it is what @lota/embedding-cache does.
 */
function decodeRawArrayFrom(buf: Buffer | null): number[] {
  return Array.from(alignedValues(buf));
}

interface RawPhases {
  keysMs: number;
  mgetMs: number;
  decodeMs: number;
}

async function rawBatch(env: Env, cache: EmbeddingCache, phases?: RawPhases[], decode: (buf: Buffer | null) => number[] = decodeRaw): Promise<number[][]> {
  const t0 = process.hrtime.bigint();
  const keys = env.texts.map((t) => keyFor(cache, t));
  const t1 = process.hrtime.bigint();
  const bufs = await env.redis.mgetBuffer(...keys);
  const t2 = process.hrtime.bigint();
  const out = bufs.map(decode);
  phases?.push({ keysMs: Number(t1 - t0) / 1e6, mgetMs: Number(t2 - t1) / 1e6, decodeMs: msSince(t2) });
  return out;
}

async function jsonBatch(env: Env, cache: EmbeddingCache): Promise<number[][]> {
  const keys = env.texts.map((t) => jsonKeyFor(cache, t));
  const values = await env.redis.mget(...keys);
  return values.map((text) => {
    if (text === null) throw new Error('JSON anchor: a key is missing from Redis');
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('JSON anchor: not an array');
    return parsed as number[];
  });
}

/** Stores every vector as JSON text, as LangChain's CacheBackedEmbeddings + a Redis byte store does (same TTL as ours). */
async function writeJson(env: Env, cache: EmbeddingCache): Promise<void> {
  const pipeline = env.redis.pipeline();
  for (const text of env.texts) pipeline.set(jsonKeyFor(cache, text), JSON.stringify(env.vectors.get(text) ?? vectorOf(text)), 'EX', 86_400);
  await pipeline.exec();
}

// ---------------------------------------------------------------- measuring

interface Tally {
  /** Cache counters over the measured repetitions (ours only, warm-up rounds excluded). */
  misses: number;
  errors: number;
  memoryHits: number;
  hits: number;
}

const emptyTally = (): Tally => ({ misses: 0, errors: 0, memoryHits: 0, hits: 0 });

/** Times one embedMany batch and adds what the cache counted during it to `tally`. */
async function timeOurs(env: Env, cache: EmbeddingCache, p: EmbeddingProvider, tally?: Tally): Promise<number> {
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

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return msSince(t0);
}

/**
 * `warmup` untimed rounds, then `reps` rounds; each round runs every side once, the order rotating
 * by one each round; returns each side's measured milliseconds. A side is told whether its round
 * counts.
 */
async function rotate<S extends string>(reps: number, sides: Record<S, (measured: boolean) => Promise<number>>, warmup = WARMUP): Promise<Record<S, number[]>> {
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
async function writesLanded(env: Env, keys: number): Promise<void> {
  await waitFor(async () => ((await env.admin.dbsize()) >= keys ? true : undefined), { timeoutMs: 10_000, intervalMs: 5, description: `${keys} keys in Redis` });
}

/** Fills Redis (and the LRU, if any) with one embedMany of every text. */
async function warm(env: Env, cache: EmbeddingCache, p: EmbeddingProvider, expectedKeys: number): Promise<void> {
  await cache.embedMany(p, env.texts);
  await writesLanded(env, expectedKeys);
}

/** Our answer must be exactly the anchor's (float32 values, in order); otherwise the comparison is meaningless. */
async function checkSame(env: Env, label: string, ours: Promise<number[][]>, anchor: Promise<number[][]>): Promise<void> {
  const [a, b] = await Promise.all([ours, anchor]);
  if (!isDeepStrictEqual(a, b)) env.ctx.log(`WARNING: ${label}: ours and the anchor returned different vectors`);
}

interface Spread {
  p50: number;
  min: number;
  max: number;
}
const spread = (v: readonly number[]): Spread => ({ p50: median(v), min: Math.min(...v), max: Math.max(...v) });

// ---------------------------------------------------------------- cases

interface Phases {
  keys: number;
  mget: number;
  decode: number;
}

interface Case1 {
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
async function redisHits(env: Env): Promise<Case1> {
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

interface Case2 {
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
async function jsonStrings(env: Env): Promise<Case2> {
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

interface Case3 {
  ours: Spread;
  raw: Spread;
  tally: Tally;
}

/** 3. In-process LRU hits vs the raw Redis path. */
async function memoryHits(env: Env): Promise<Case3> {
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

interface Case4 {
  ours: Spread;
  direct: Spread;
  oursCalls: number;
  directCalls: number;
  tally: Tally;
}

/** 4. Cold batch: nothing cached, a provider taking a fixed PROVIDER_DELAY_MS per call; ours vs calling the provider directly. */
async function coldBatch(env: Env): Promise<Case4> {
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

// ---------------------------------------------------------------- rows

function fmt(value: number, digits = 2): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function tallyText(t: Tally, reps: number): string {
  return `${t.hits} hits (${t.memoryHits} from memory), ${t.misses} misses, ${t.errors} errors over ${reps} batches`;
}

function rows(c1: Case1, c2: Case2, c3: Case3, c4: Case4): Row[] {
  const hitsCase = `${TEXTS} texts x ${DIMS} dims, all in Redis, LRU off (memory: false)`;
  const out: Row[] = [];
  out.push(
    row(
      { suite: SUITE, case: hitsCase, metric: 'p50 latency per batch', unit: 'ms', value: c1.ours.p50, anchorName: RAW_ANCHOR, anchorValue: c1.raw.p50, better: 'lower', goal: '<= 1.3x raw' },
      0.3,
    ),
  );
  out.push(
    row({ suite: SUITE, case: hitsCase, metric: 'p50 latency per batch', unit: 'ms', value: c1.ours.p50, anchorName: RAW_ARRAY_FROM_ANCHOR, anchorValue: c1.rawArrayFrom.p50, better: 'lower' }),
  );
  const jsonLatency = row({
    suite: SUITE,
    case: `${TEXTS} texts x ${DIMS} dims, all in Redis, LRU off; JSON side parses`,
    metric: 'p50 latency per batch',
    unit: 'ms',
    value: c2.ours.p50,
    anchorName: JSON_ANCHOR,
    anchorValue: c2.json.p50,
    better: 'lower',
    goal: '>= 10x faster than JSON (<= 0.10x)',
  });
  jsonLatency.ok = jsonLatency.ratio <= 0.1;
  out.push(jsonLatency);
  const memory = row({
    suite: SUITE,
    case: `${DIMS}-dim vector per Redis key, ${MEMORY_SAMPLES} keys sampled`,
    metric: 'MEMORY USAGE per entry',
    unit: 'bytes',
    value: c2.memOurs,
    anchorName: 'JSON.stringify(number[]) string',
    anchorValue: c2.memJson,
    better: 'lower',
    goal: '>= 4x smaller than JSON (<= 0.25x)',
  });
  memory.ok = memory.ratio <= 0.25;
  out.push(memory);
  const lru = row({
    suite: SUITE,
    case: `${TEXTS} texts x ${DIMS} dims, in-process LRU hits (memory: { maxEntries: 2000 })`,
    metric: 'p50 latency per batch',
    unit: 'ms',
    value: c3.ours.p50,
    anchorName: RAW_ANCHOR,
    anchorValue: c3.raw.p50,
    better: 'lower',
    goal: 'much faster than raw Redis (<= 0.5x)',
  });
  lru.ok = lru.ratio <= 0.5;
  out.push(lru);
  out.push(
    row({
      suite: SUITE,
      case: `cold batch: ${TEXTS} texts, nothing cached, provider ${PROVIDER_DELAY_MS} ms per call`,
      metric: 'p50 latency per batch',
      unit: 'ms',
      value: c4.ours.p50,
      anchorName: 'provider.embed(texts) directly, no cache',
      anchorValue: c4.direct.p50,
      better: 'lower',
    }),
  );
  return out;
}

function details(c1: Case1, c2: Case2, c3: Case3, c4: Case4): string {
  const line = (name: string, s: Spread): string => `| ${name} | ${fmt(s.p50)} | ${fmt(s.min)} | ${fmt(s.max)} |`;
  return [
    '## embeddings: details',
    '',
    `${TEXTS} distinct texts (100-300 characters), a deterministic ${DIMS}-dim provider (seeded PRNG per text, float32 values), one redis-server, one shared ioredis client, FLUSHALL before each case. ` +
      `Every side derives its keys inside the timed region with \`cache.keyFor\` (SHA-256). Sides alternate, order rotating each round, ${WARMUP} untimed warm-up rounds; ${REPS} measured batches per side (cold batch: ${COLD_REPS}, 1 warm-up).`,
    '',
    '| side | p50 ms | min ms | max ms |',
    '| --- | ---: | ---: | ---: |',
    line('1. ours, Redis hits (memory: false)', c1.ours),
    line(`1. ${RAW_ANCHOR}`, c1.raw),
    line(`1. ${RAW_ARRAY_FROM_ANCHOR}`, c1.rawArrayFrom),
    line('2. ours, Redis hits (memory: false)', c2.ours),
    line(`2. ${JSON_ANCHOR}`, c2.json),
    line('3. ours, LRU hits', c3.ours),
    line(`3. ${RAW_ANCHOR}`, c3.raw),
    line(`4. ours, cold (provider ${PROVIDER_DELAY_MS} ms per call)`, c4.ours),
    line('4. provider directly', c4.direct),
    '',
    `Raw anchors, median per phase (case 1): keys ${fmt(c1.phases.keys)} ms, mgetBuffer ${fmt(c1.phases.mget)} ms, decode to number[][] ${fmt(c1.phases.decode)} ms with the for-loop; ` +
      `with Array.from: keys ${fmt(c1.phasesArrayFrom.keys)} ms, mgetBuffer ${fmt(c1.phasesArrayFrom.mget)} ms, decode ${fmt(c1.phasesArrayFrom.decode)} ms.`,
    '',
    `JSON is ${fmt(c2.json.p50 / c2.ours.p50, 1)}x slower than ours per batch. Per entry: ours ${fmt(c2.lenOurs, 0)} bytes stored, ${fmt(c2.memOurs, 0)} bytes MEMORY USAGE; ` +
      `JSON ${fmt(c2.lenJson, 0)} bytes stored, ${fmt(c2.memJson, 0)} bytes MEMORY USAGE (${fmt(c2.memJson / c2.memOurs, 1)}x).`,
    '',
    `Cold batch: ours made ${fmt(c4.oursCalls, 1)} provider calls per batch (batchSize 256, up to 4 in parallel), the direct side ${fmt(c4.directCalls, 1)}; ours costs ${fmt(c4.ours.p50 - c4.direct.p50)} ms more per cold batch at p50.`,
    '',
    'What the cache counted during the measured batches (warm-ups excluded; a hit batch should show only hits):',
    '',
    `- case 1: ${tallyText(c1.tally, REPS)}`,
    `- case 2: ${tallyText(c2.tally, REPS)}`,
    `- case 3: ${tallyText(c3.tally, REPS)}`,
    `- case 4: ${tallyText(c4.tally, COLD_REPS)}`,
  ].join('\n');
}

// ---------------------------------------------------------------- suite

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const texts = makeTexts();
  if (new Set(texts).size !== TEXTS) throw new Error('texts are not distinct');
  const vectors = new Map(texts.map((t) => [t, vectorOf(t)]));
  const server = await startRedis();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  admin.on('error', () => undefined);
  try {
    await ctx.noteServer(server);
    await Promise.all([redis.ping(), admin.ping()]);
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
  } finally {
    redis.disconnect();
    admin.disconnect();
    await server.dispose();
  }
}
