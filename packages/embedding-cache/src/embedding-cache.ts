import type { Logger } from '@lota/shared';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { cacheKey, KeyScope } from './cache-key.js';
import { InvalidArgumentError } from './errors.js';
import { Flight } from './flight.js';
import { checkClient, validateCacheOptions, type EmbeddingCacheOptions, type ResolvedEmbeddingCacheOptions } from './options.js';
import { checkProvider, checkVectors, type EmbeddingProvider } from './provider.js';
import { decodeVector, encodeVector } from './vector-codec.js';
import { VectorStore, type WriteEntry } from './vector-store.js';

/**
 * After this many calls of other callers failed for one of its texts, a caller stops joining
 * calls and embeds the text itself: a chain of failing callers delays it by at most this many
 * provider round trips.
 */
const MAX_FOREIGN_FAILURES = 2;
/** Vector lengths remembered per model/dimensions/options family; bounded in case options vary per call. */
const MAX_KNOWN_FAMILIES = 1_024;
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

/** Counters since the cache was created. */
export interface EmbeddingCacheStats {
  /** Texts served from the cache (memory or Redis). */
  hits: number;
  /** Texts that had to be embedded by the provider (a text re-issued after another caller's failed call counts again). */
  misses: number;
  /** Of `hits`, those served in-process: the LRU, or a fresh vector whose write-back has not settled yet. */
  memoryHits: number;
  /** Calls made to providers. */
  providerCalls: number;
  /** Cache-side failures that were absorbed (Redis down, slow, corrupt entries, failed writes): each became a miss or an uncached vector. */
  errors: number;
  /** Texts that shared a provider call already running (same text in a batch, or concurrent requests). */
  coalesced: number;
  /** Fresh vectors never sent to Redis because it was down, or stalled with the write budget full (never while it is healthy). */
  writesDropped: number;
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

/** What one `embedMany` call needs while it fills its misses. */
interface Call {
  readonly provider: EmbeddingProvider;
  readonly scope: KeyScope;
  readonly textOf: ReadonlyMap<string, { text: string }>;
  readonly found: Map<string, Float32Array>;
  /** Provider calls this call registered (its own misses and re-issues). */
  readonly flights: Flight[];
  /** Set once the call has failed or its caller aborted: it starts no more provider calls. */
  over: boolean;
}

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
  /** Provider calls running, by key of each text they embed (single-flight). */
  private readonly inflight = new Map<string, Flight>();
  /**
   * Vectors just embedded whose write-back has not settled: findable in-process until Redis has
   * them (even with `memory: false`). Bounded by the write budget plus calls waiting for it.
   */
  private readonly fresh = new Map<string, Float32Array>();
  /** Vector length each model/dimensions/options family returned last: a stored vector of another length is corrupt. */
  private readonly knownDims = new LRUCache<string, number>({ max: MAX_KNOWN_FAMILIES });
  private readonly counters: EmbeddingCacheStats = { hits: 0, misses: 0, memoryHits: 0, providerCalls: 0, errors: 0, coalesced: 0, writesDropped: 0 };
  private readonly lastWarning = { redis: 0, drop: 0 };

  /** Prefer {@link createEmbeddingCache}; the two forms are the same as its own. */
  constructor(redis: Redis | Cluster, resolved: ResolvedEmbeddingCacheOptions);
  constructor(opts: EmbeddingCacheOptions);
  constructor(first: EmbeddingCacheOptions | Redis | Cluster, resolved?: ResolvedEmbeddingCacheOptions) {
    const given = resolved === undefined ? validateCacheOptions(first) : { redis: checkClient(first, resolved), resolved };
    const { ttlSeconds, timeoutMs, maxPendingWriteBytes, memory } = given.resolved;
    this.prefix = given.resolved.prefix;
    this.batchSize = given.resolved.batchSize;
    this.maxParallelCalls = given.resolved.maxParallelCalls;
    if (memory !== false) this.memory = new LRUCache({ max: memory.maxEntries, ttl: ttlSeconds * 1_000 });
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
      const local = this.local(key);
      if (local) {
        found.set(key, local);
        this.counters.hits++;
        this.counters.memoryHits++;
      } else {
        const running = this.inflight.get(key);
        if (running) join(key, running);
        else lookup.push(key);
      }
    }

    // 2. Redis, one round trip for the rest.
    const missing: string[] = [];
    if (lookup.length > 0) {
      const stored = await this.store.lookup(lookup);
      const dims = p.dimensions ?? this.knownDims.get(scope.family);
      for (let i = 0; i < lookup.length; i++) {
        const key = lookup[i] ?? '';
        const buf = stored?.[i];
        const vector = buf ? decodeVector(buf, dims) : undefined;
        if (buf && !vector) this.counters.errors++; // a corrupt entry: re-embedded and overwritten below
        if (vector) {
          found.set(key, vector);
          this.memory?.set(key, vector);
          this.counters.hits++;
          continue;
        }
        // Embedded (or being embedded) by another call while we asked Redis?
        const local = this.local(key);
        const running = local ? undefined : this.inflight.get(key);
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
      if (missing.length > 0) work.push(this.embedOwn(call, missing));
      if (joined) for (const [flight, keys] of joined) work.push(this.follow(call, flight, keys, 0));
      const all = Promise.all(work);
      try {
        await (signal ? untilAborted(all, signal) : all);
      } catch (err) {
        this.abandon(call);
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

  /** A vector held in-process: the LRU, or a fresh one whose write-back has not settled. */
  private local(key: string): Float32Array | undefined {
    return this.memory?.get(key) ?? (this.fresh.size > 0 ? this.fresh.get(key) : undefined);
  }

  /**
   * Waits for another caller's provider call. If it failed (that caller's abort, credentials,
   * texts...), its error is not ours: the texts are re-issued, joining a call already running
   * for them or with our own provider, and after MAX_FOREIGN_FAILURES always with our own.
   */
  private async follow(call: Call, flight: Flight, keys: readonly string[], failures: number): Promise<void> {
    const vectors = (await flight.done) ? flight.vectors : undefined;
    const left: string[] = [];
    for (const key of keys) {
      const v = vectors?.get(key);
      if (v) call.found.set(key, v);
      else left.push(key);
    }
    if (left.length === 0 || call.over) return;
    const own: string[] = [];
    const rejoin = new Map<Flight, string[]>();
    for (const key of left) {
      const local = this.local(key);
      const running = local || failures + 1 >= MAX_FOREIGN_FAILURES ? undefined : this.inflight.get(key);
      if (local) call.found.set(key, local);
      else if (running) {
        const group = rejoin.get(running);
        if (group) group.push(key);
        else rejoin.set(running, [key]);
        this.counters.coalesced++;
      } else own.push(key);
    }
    const work: Array<Promise<void>> = [];
    if (own.length > 0) work.push(this.embedOwn(call, own));
    for (const [next, group] of rejoin) work.push(this.follow(call, next, group, failures + 1));
    await Promise.all(work);
  }

  /**
   * Embeds `keys` with the caller's provider: chunks of `batchSize`, up to `maxParallelCalls` at
   * once, each registered as a flight others can join. The first failure stops new chunks and
   * is thrown; chunks that never ran release their texts (joiners re-issue them).
   */
  private async embedOwn(call: Call, keys: readonly string[]): Promise<void> {
    const flights: Flight[] = [];
    for (let i = 0; i < keys.length; i += this.batchSize) {
      const flight = new Flight(keys.slice(i, i + this.batchSize));
      for (const key of flight.keys) if (!this.inflight.has(key)) this.inflight.set(key, flight);
      flights.push(flight);
      call.flights.push(flight);
    }
    let next = 0;
    let failure: { err: unknown } | undefined;
    const run = async (): Promise<void> => {
      for (let flight = flights[next++]; flight; flight = flights[next++]) {
        if (flight.isSettled) continue; // abandoned: this call failed or its caller aborted
        try {
          await this.embedChunk(call, flight);
        } catch (err) {
          failure ??= { err };
          this.abandon(call);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxParallelCalls, flights.length) }, run));
    if (failure) throw failure.err;
  }

  /** The call is over (failed or aborted): it starts nothing more, and whoever joined a chunk it never started re-issues at once. */
  private abandon(call: Call): void {
    call.over = true;
    for (const flight of call.flights) if (!flight.started) this.land(flight, undefined);
  }

  /** Settles `flight` (with its vectors, or failed) and takes its keys out of the in-flight map. */
  private land(flight: Flight, vectors: ReadonlyMap<string, Float32Array> | undefined): void {
    for (const key of flight.keys) if (this.inflight.get(key) === flight) this.inflight.delete(key);
    if (vectors) flight.succeed(vectors);
    else flight.fail();
  }

  private async embedChunk(call: Call, flight: Flight): Promise<void> {
    const { provider, scope, found } = call;
    const keys = flight.keys;
    flight.started = true;
    this.counters.providerCalls++;
    this.counters.misses += keys.length;
    let vectors: Float32Array[];
    try {
      const texts = keys.map((k) => call.textOf.get(k)?.text ?? '');
      vectors = checkVectors(provider, keys.length, await provider.embed(texts));
    } catch (err) {
      this.land(flight, undefined);
      throw err;
    }
    if (vectors[0]) this.knownDims.set(scope.family, vectors[0].length);
    const byKey = new Map<string, Float32Array>();
    const writes = new Array<WriteEntry>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] ?? '';
      const vector = vectors[i] ?? new Float32Array(0);
      byKey.set(key, vector);
      found.set(key, vector);
      this.memory?.set(key, vector);
      this.fresh.set(key, vector);
      writes[i] = [key, encodeVector(vector)];
    }
    this.land(flight, byKey);
    // Fresh vectors stay findable until Redis has answered for them (or they were dropped).
    const wait = this.store.write(writes, (settled) => {
      for (const [key] of settled) if (this.fresh.get(key) === byKey.get(key)) this.fresh.delete(key);
    });
    if (wait) await wait; // back-pressure: the write budget is full and Redis is still acknowledging writes
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
