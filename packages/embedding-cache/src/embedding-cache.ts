import type { Logger } from '@lota/shared';
import type { Cluster, Redis } from 'ioredis';
import { cacheKey, KeyScope } from './cache-key.js';
import { InvalidArgumentError } from './errors.js';
import type { Flight } from './flight.js';
import { LocalVectors } from './local-vectors.js';
import { checkClient, validateCacheOptions, type EmbeddingCacheOptions, type ResolvedEmbeddingCacheOptions } from './options.js';
import { checkProvider, type EmbeddingProvider } from './provider.js';
import { ProviderCalls, type Call } from './provider-calls.js';
import { emptyStats, type EmbeddingCacheStats } from './stats.js';
import { decodeVector } from './vector-codec.js';
import { VectorStore } from './vector-store.js';

/** At most one warning per kind per 10 s: an outage must not flood the logs. */
const WARN_INTERVAL_MS = 10_000;

/** Options of one {@link EmbeddingCache.embedMany} call. */
export interface EmbedManyOptions {
  /**
   * The caller's signal: when it aborts, the call rejects with its reason at once, even while it
   * waits on a provider call another caller started (that call goes on for the others).
   * Pass the same signal to your provider to cancel your own provider call too.
   */
  signal?: AbortSignal;
}

/** A plain array copy; an indexed loop is ~20x faster than Array.from on a Float32Array. */
function toArray(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] ?? 0;
  return out;
}

/** `work`, or the signal's reason as soon as it aborts (whatever `work` does later is ignored). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => (onAbort = () => reject(signal.reason as Error)));
  signal.addEventListener('abort', onAbort, { once: true });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * A two-tier (lru-cache + Redis) cache of embedding vectors that never makes embedding fail.
 * Create with {@link createEmbeddingCache}.
 */
export class EmbeddingCache {
  private readonly prefix: string;
  private readonly store: VectorStore;
  private readonly local: LocalVectors;
  private readonly calls: ProviderCalls;
  private readonly logger: Logger;
  private readonly counters: EmbeddingCacheStats = emptyStats();
  private readonly lastWarning = { redis: 0, drop: 0 };

  /** Prefer {@link createEmbeddingCache}; the two forms are the same as its own. */
  constructor(redis: Redis | Cluster, resolved: ResolvedEmbeddingCacheOptions);
  constructor(opts: EmbeddingCacheOptions);
  constructor(first: EmbeddingCacheOptions | Redis | Cluster, resolved?: ResolvedEmbeddingCacheOptions) {
    const given = resolved === undefined ? validateCacheOptions(first) : { redis: checkClient(first, resolved), resolved };
    const { ttlSeconds, timeoutMs, maxPendingWriteBytes, memory } = given.resolved;
    this.prefix = given.resolved.prefix;
    this.local = new LocalVectors(memory, ttlSeconds);
    this.logger = given.resolved.logger;
    this.store = new VectorStore(
      given.redis,
      { ttlSeconds, timeoutMs, maxPendingWriteBytes },
      {
        onError: (kind, detail) => {
          this.counters.errors++;
          this.warn('redis', { kind, detail }, 'embedding cache: Redis unusable, serving from the provider (fail-open)');
        },
        onDrop: (count, detail) => {
          this.counters.writesDropped += count;
          this.warn('drop', { count, detail }, 'embedding cache: write-back dropped, those vectors are not cached');
        },
      },
    );
    this.calls = new ProviderCalls({
      local: this.local,
      store: this.store,
      counters: this.counters,
      batchSize: given.resolved.batchSize,
      maxParallelCalls: given.resolved.maxParallelCalls,
    });
  }

  private warn(kind: keyof EmbeddingCache['lastWarning'], fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.lastWarning[kind] > WARN_INTERVAL_MS) {
      this.lastWarning[kind] = now;
      this.logger.warn(fields, message);
    } else {
      this.logger.debug(fields, message);
    }
  }

  /**
   * The Redis key of `text` for `model` (and the dimensions/options that change the vector).
   * Throws `INVALID_ARGUMENT` when `options` holds anything but plain JSON values.
   */
  keyFor(model: string, text: string, extra: { dimensions?: number; options?: Record<string, unknown> } = {}): string {
    return cacheKey(this.prefix, model, text, extra.dimensions, extra.options);
  }

  /** Counters since creation. */
  stats(): EmbeddingCacheStats {
    return { ...this.counters };
  }

  /** The vector of one text. */
  async embed(provider: EmbeddingProvider, text: string, options?: EmbedManyOptions): Promise<number[]> {
    const [vector = []] = await this.embedMany(provider, [text], options);
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
   * (once per distinct text, in chunks of `batchSize`), each chunk stored without delaying the
   * answer unless the write budget is full. Redis trouble means misses, never errors. Errors of
   * your own provider call pass through; another caller's failed call is never yours (your texts
   * are re-issued). Values are float32 (cached or fresh alike, so a text always gets the identical vector).
   */
  async embedMany(provider: EmbeddingProvider, texts: readonly string[], options: EmbedManyOptions = {}): Promise<number[][]> {
    const p = checkProvider(provider);
    const list: unknown = texts;
    if (!Array.isArray(list)) throw new InvalidArgumentError('@lota/embedding-cache: texts must be an array of strings.');
    list.forEach((t, i) => {
      if (typeof t !== 'string') throw new InvalidArgumentError(`@lota/embedding-cache: texts[${i}] must be a string, got ${t === null ? 'null' : typeof t}.`);
    });
    const signal: unknown = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('@lota/embedding-cache: options.signal must be an AbortSignal.');
    signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const scope = new KeyScope(this.prefix, p.model, p.dimensions, p.options, 'provider.options');

    // Distinct keys, each with the positions that want it.
    const byKey = new Map<string, { text: string; at: number[] }>();
    texts.forEach((text, i) => {
      const key = scope.keyOf(text);
      const entry = byKey.get(key);
      if (entry) {
        entry.at.push(i);
        this.counters.coalesced++;
      } else byKey.set(key, { text, at: [i] });
    });
    const found = new Map<string, Float32Array>();
    let joined: Map<Flight, string[]> | undefined;
    const join = (key: string, flight: Flight): void => {
      joined ??= new Map();
      const keys = joined.get(flight);
      if (keys) keys.push(key);
      else joined.set(flight, [key]);
      this.counters.coalesced++;
    };

    // 1. In-process: the LRU and fresh vectors, then provider calls already running for the same text.
    const lookup: string[] = [];
    for (const key of byKey.keys()) {
      const local = this.local.get(key);
      if (local) {
        found.set(key, local);
        this.counters.hits++;
        this.counters.memoryHits++;
      } else {
        const running = this.calls.running(key);
        if (running) join(key, running);
        else lookup.push(key);
      }
    }

    // 2. Redis, one round trip for the rest.
    const missing: string[] = [];
    if (lookup.length > 0) {
      const stored = await this.store.lookup(lookup);
      const dims = p.dimensions ?? this.local.knownDims.get(scope.family);
      for (let i = 0; i < lookup.length; i++) {
        const key = lookup[i] ?? '';
        const buf = stored?.[i];
        const vector = buf ? decodeVector(buf, dims) : undefined;
        if (buf && !vector) this.counters.errors++; // a corrupt entry: re-embedded and overwritten below
        if (vector) {
          found.set(key, vector);
          this.local.memory?.set(key, vector);
          this.counters.hits++;
          continue;
        }
        // Embedded (or being embedded) by another call while we asked Redis?
        const local = this.local.get(key);
        const running = local ? undefined : this.calls.running(key);
        if (local) {
          found.set(key, local);
          this.counters.hits++;
          this.counters.memoryHits++;
        } else if (running) join(key, running);
        else missing.push(key);
      }
    }

    // 3. The provider, for what nobody has; and the calls of others we joined.
    if (missing.length > 0 || joined) {
      const call: Call = { provider: p, scope, textOf: byKey, found, flights: [], over: false };
      const work: Array<Promise<void>> = [];
      if (missing.length > 0) work.push(this.calls.embedOwn(call, missing));
      if (joined) for (const [flight, keys] of joined) work.push(this.calls.follow(call, flight, keys, 0));
      const all = Promise.all(work);
      try {
        await (signal ? untilAborted(all, signal) : all);
      } catch (err) {
        this.calls.abandon(call);
        throw err;
      }
    }

    const out = new Array<number[]>(texts.length);
    for (const [key, { at }] of byKey) {
      const vector = found.get(key);
      if (vector) for (const i of at) out[i] = toArray(vector);
    }
    return out;
  }
}

/**
 * Creates the cache over options already resolved by `resolveEmbeddingCacheOptions` (they are not
 * parsed again): how `@lota/runtime` builds its cache from the section it validated at creation.
 */
export function createEmbeddingCache(redis: Redis | Cluster, resolved: ResolvedEmbeddingCacheOptions): EmbeddingCache;
/** Creates the cache. Validates options (`CONFIG_INVALID`); sends nothing to Redis until used. */
export function createEmbeddingCache(opts: EmbeddingCacheOptions): EmbeddingCache;
export function createEmbeddingCache(first: EmbeddingCacheOptions | Redis | Cluster, resolved?: ResolvedEmbeddingCacheOptions): EmbeddingCache {
  return resolved === undefined ? new EmbeddingCache(first as EmbeddingCacheOptions) : new EmbeddingCache(first as Redis | Cluster, resolved);
}
