import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { cacheKey } from './cache-key.js';
import { CacheConfigError, InvalidArgumentError } from './errors.js';
import { stderrLogger, type Logger } from './logger.js';
import { checkProvider, checkVectors, type EmbeddingProvider } from './provider.js';
import { decodeVector, encodeVector } from './vector-codec.js';
import { VectorStore } from './vector-store.js';

/** Options of {@link createEmbeddingCache}. */
export interface EmbeddingCacheOptions {
  /** The Redis (or Cluster) holding vectors. Any eviction policy is fine: an evicted entry is a miss. */
  redis: Redis | Cluster;
  /** How long a stored vector lives. @defaultValue 86_400 (a day) */
  ttlSeconds?: number;
  /** Keys are `<prefix>:emb:v1:...`. @defaultValue 'lota' */
  prefix?: string;
  /** In-process LRU in front of Redis, sized by entries; `false` turns it off. @defaultValue { maxEntries: 1_000 } */
  memory?: { maxEntries: number } | false;
  /** Longest a Redis lookup may take before it counts as a miss. @defaultValue 250 */
  timeoutMs?: number;
  /** Most texts sent to the provider in one call; larger miss sets go in chunks. @defaultValue 256 */
  batchSize?: number;
  /** Provider calls run at once for one batch's chunks. @defaultValue 4 */
  maxParallelCalls?: number;
  /** pino-compatible logger. @defaultValue warnings and errors to stderr */
  logger?: Logger;
}

/** Counters since the cache was created. */
export interface EmbeddingCacheStats {
  /** Texts served from the cache (memory or Redis). */
  hits: number;
  /** Texts that had to be embedded by the provider. */
  misses: number;
  /** Of `hits`, those served from the in-process LRU. */
  memoryHits: number;
  /** Calls made to providers. */
  providerCalls: number;
  /** Cache-side failures that were absorbed (Redis down, slow, corrupt entries): each became a miss. */
  errors: number;
  /** Texts that shared a provider call already running (same text in a batch, or concurrent requests). */
  coalesced: number;
}

interface Deferred {
  promise: Promise<Float32Array>;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: (v: Float32Array) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Float32Array>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // rejections are delivered to whoever awaits; never unhandled
  return { promise, resolve, reject };
}

/** A plain array copy; an indexed loop is ~20x faster than Array.from on a Float32Array. */
function toArray(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] ?? 0;
  return out;
}

const positiveInt = (name: string, v: unknown, min = 1): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new CacheConfigError(`@lota/embedding-cache: ${name} must be a whole number >= ${min}, got ${String(v)}.`);
  }
  return v;
};

/**
 * A two-tier (lru-cache + Redis) cache of embedding vectors that never makes embedding fail.
 * Create with {@link createEmbeddingCache}.
 */
export class EmbeddingCache {
  private readonly prefix: string;
  private readonly store: VectorStore;
  private readonly memory: LRUCache<string, Float32Array> | undefined;
  private readonly batchSize: number;
  private readonly maxParallelCalls: number;
  private readonly logger: Logger;
  private readonly inflight = new Map<string, Deferred>();
  /** Dimensions each model's provider has returned: a stored vector of another length is corrupt. */
  private readonly knownDims = new Map<string, number>();
  private readonly counters: EmbeddingCacheStats = { hits: 0, misses: 0, memoryHits: 0, providerCalls: 0, errors: 0, coalesced: 0 };
  private lastErrorLog = 0;

  constructor(opts: EmbeddingCacheOptions) {
    if (typeof opts !== 'object' || opts === null) throw new CacheConfigError('@lota/embedding-cache: createEmbeddingCache() needs an options object with redis.');
    const known = ['redis', 'ttlSeconds', 'prefix', 'memory', 'timeoutMs', 'batchSize', 'maxParallelCalls', 'logger'];
    const unknown = Object.keys(opts).filter((k) => !known.includes(k));
    if (unknown.length) throw new CacheConfigError(`@lota/embedding-cache: unknown option(s) ${unknown.join(', ')}; known: ${known.join(', ')}.`);
    const redis = opts.redis as Partial<Redis> | undefined;
    if (typeof redis !== 'object' || typeof redis.mgetBuffer !== 'function' || !('status' in redis)) {
      throw new CacheConfigError('@lota/embedding-cache: redis must be an ioredis Redis or Cluster instance.');
    }
    const prefix = opts.prefix ?? 'lota';
    if (typeof prefix !== 'string' || !/^[^\s{}]+$/.test(prefix)) throw new CacheConfigError('@lota/embedding-cache: prefix must be a non-empty string without spaces or braces.');
    this.prefix = prefix;
    const ttlSeconds = positiveInt('ttlSeconds', opts.ttlSeconds ?? 86_400);
    const timeoutMs = positiveInt('timeoutMs', opts.timeoutMs ?? 250);
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? 256);
    this.maxParallelCalls = positiveInt('maxParallelCalls', opts.maxParallelCalls ?? 4);
    const memory = opts.memory ?? { maxEntries: 1_000 };
    if (memory !== false) {
      if (typeof memory !== 'object') throw new CacheConfigError('@lota/embedding-cache: memory must be { maxEntries } or false.');
      this.memory = new LRUCache({ max: positiveInt('memory.maxEntries', memory.maxEntries), ttl: ttlSeconds * 1_000 });
    }
    this.logger = opts.logger ?? stderrLogger;
    this.store = new VectorStore(opts.redis, ttlSeconds, timeoutMs, {
      onError: (kind, detail) => {
        this.counters.errors++;
        // One warning per 10 s at most: an outage must not flood the logs.
        const now = Date.now();
        if (now - this.lastErrorLog > 10_000) {
          this.lastErrorLog = now;
          this.logger.warn({ kind, detail }, 'embedding cache: Redis unusable, serving from the provider (fail-open)');
        } else {
          this.logger.debug({ kind, detail }, 'embedding cache: Redis unusable');
        }
      },
    });
  }

  /** The Redis key of `text` for `model` (and the dimensions/options that change the vector). */
  keyFor(model: string, text: string, extra: { dimensions?: number; options?: Record<string, unknown> } = {}): string {
    return cacheKey(this.prefix, model, text, extra.dimensions, extra.options);
  }

  /** Counters since creation. */
  stats(): EmbeddingCacheStats {
    return { ...this.counters };
  }

  /** The vector of one text. */
  async embed(provider: EmbeddingProvider, text: string): Promise<number[]> {
    const [vector = []] = await this.embedMany(provider, [text]);
    return vector;
  }

  /** `provider` with the cache in front: the same interface, so it can be passed anywhere a provider goes. */
  wrap(provider: EmbeddingProvider): EmbeddingProvider {
    const p = checkProvider(provider);
    return {
      model: p.model,
      ...(p.dimensions === undefined ? {} : { dimensions: p.dimensions }),
      ...(p.options === undefined ? {} : { options: p.options }),
      embed: (texts) => this.embedMany(p, texts),
    };
  }

  /**
   * Vectors for `texts`, in order. One Redis lookup for the batch; only misses reach the provider
   * (once per distinct text, in chunks of `batchSize`), each chunk stored as it completes without
   * delaying the answer. Redis trouble means misses, never errors. Provider errors pass through.
   * Values are float32 (cached or fresh alike, so a text always gets the identical vector).
   */
  async embedMany(provider: EmbeddingProvider, texts: readonly string[]): Promise<number[][]> {
    const p = checkProvider(provider);
    const list: unknown = texts;
    if (!Array.isArray(list)) throw new InvalidArgumentError('@lota/embedding-cache: texts must be an array of strings.');
    list.forEach((t, i) => {
      if (typeof t !== 'string') throw new InvalidArgumentError(`@lota/embedding-cache: texts[${i}] must be a string, got ${t === null ? 'null' : typeof t}.`);
    });
    if (texts.length === 0) return [];

    // Distinct keys, each with the positions that want it.
    const byKey = new Map<string, { text: string; at: number[] }>();
    texts.forEach((text, i) => {
      const key = cacheKey(this.prefix, p.model, text, p.dimensions, p.options);
      const entry = byKey.get(key);
      if (entry) {
        entry.at.push(i);
        this.counters.coalesced++;
      } else byKey.set(key, { text, at: [i] });
    });
    const found = new Map<string, Float32Array>();
    const waiting = new Map<string, Promise<Float32Array>>();

    // 1. In-process: the LRU, then requests already running for the same text.
    const lookup: string[] = [];
    for (const key of byKey.keys()) {
      const hit = this.memory?.get(key);
      if (hit) {
        found.set(key, hit);
        this.counters.hits++;
        this.counters.memoryHits++;
      } else {
        const running = this.inflight.get(key);
        if (running) {
          waiting.set(key, running.promise);
          this.counters.coalesced++;
        } else lookup.push(key);
      }
    }

    // 2. Redis, one round trip for the rest.
    const missing: string[] = [];
    if (lookup.length > 0) {
      const stored = await this.store.lookup(lookup);
      lookup.forEach((key, i) => {
        const buf = stored?.[i];
        const vector = buf ? decodeVector(buf, p.dimensions ?? this.knownDims.get(p.model)) : undefined;
        if (buf && !vector) this.counters.errors++; // a corrupt entry: re-embedded and overwritten below
        const running = this.inflight.get(key);
        if (vector) {
          found.set(key, vector);
          this.memory?.set(key, vector);
          this.counters.hits++;
        } else if (running) {
          waiting.set(key, running.promise); // started while we were asking Redis
          this.counters.coalesced++;
        } else missing.push(key);
      });
    }

    // 3. The provider, for what nobody has: chunked, with bounded parallelism.
    if (missing.length > 0) {
      this.counters.misses += missing.length;
      const mine = new Map<string, Deferred>();
      for (const key of missing) {
        const d = deferred();
        mine.set(key, d);
        this.inflight.set(key, d);
        waiting.set(key, d.promise);
      }
      const chunks: string[][] = [];
      for (let i = 0; i < missing.length; i += this.batchSize) chunks.push(missing.slice(i, i + this.batchSize));
      let next = 0;
      const runChunks = async (): Promise<void> => {
        for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
          await this.embedChunk(p, chunk, chunk.map((k) => byKey.get(k)?.text ?? ''), mine);
        }
      };
      const runners = Array.from({ length: Math.min(this.maxParallelCalls, chunks.length) }, runChunks);
      const settled = await Promise.allSettled(runners);
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure) {
        // A failed chunk rejected its own keys; keys of chunks that never ran must not hang.
        for (const [key, d] of mine) {
          d.reject(failure.reason);
          if (this.inflight.get(key) === d) this.inflight.delete(key);
        }
        throw failure.reason;
      }
    }

    for (const [key, promise] of waiting) found.set(key, await promise);

    const out = new Array<number[]>(texts.length);
    for (const [key, { at }] of byKey) {
      const vector = found.get(key);
      if (vector) for (const i of at) out[i] = toArray(vector);
    }
    return out;
  }

  private async embedChunk(provider: EmbeddingProvider, keys: string[], texts: string[], mine: Map<string, Deferred>): Promise<void> {
    this.counters.providerCalls++;
    const settle = (key: string, how: (d: Deferred) => void): void => {
      const d = mine.get(key);
      if (!d) return;
      how(d);
      mine.delete(key);
      if (this.inflight.get(key) === d) this.inflight.delete(key);
    };
    let vectors: number[][];
    try {
      vectors = checkVectors(provider, texts.length, await provider.embed(texts));
    } catch (err) {
      for (const key of keys) settle(key, (d) => d.reject(err));
      throw err;
    }
    if (vectors[0]) this.knownDims.set(provider.model, vectors[0].length);
    const writes: Array<readonly [string, Buffer]> = [];
    vectors.forEach((values, i) => {
      const key = keys[i] ?? '';
      const vector = Float32Array.from(values);
      this.memory?.set(key, vector);
      writes.push([key, encodeVector(vector)]);
      settle(key, (d) => d.resolve(vector));
    });
    // Serialising the pipeline (megabytes for a large chunk) must not delay the caller either.
    setImmediate(() => this.store.write(writes));
  }
}

/** Creates the cache. Validates options (`CONFIG_INVALID`); sends nothing to Redis until used. */
export function createEmbeddingCache(opts: EmbeddingCacheOptions): EmbeddingCache {
  return new EmbeddingCache(opts);
}
