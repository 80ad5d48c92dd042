import type { KeyScope } from './cache-key.js';
import { Flight } from './flight.js';
import type { LocalVectors } from './local-vectors.js';
import { checkVectors, type EmbeddingProvider } from './provider.js';
import type { EmbeddingCacheStats } from './stats.js';
import { encodeVector } from './vector-codec.js';
import type { VectorStore, WriteEntry } from './vector-store.js';

/**
 * After this many calls of other callers failed for one of its texts, a caller stops joining
 * calls and embeds the text itself: a chain of failing callers delays it by at most this many
 * provider round trips.
 */
const MAX_FOREIGN_FAILURES = 2;

/** What one `embedMany` call needs while it fills its misses. */
export interface Call {
  readonly provider: EmbeddingProvider;
  readonly scope: KeyScope;
  readonly textOf: ReadonlyMap<string, { text: string }>;
  readonly found: Map<string, Float32Array>;
  /** Provider calls this call registered (its own misses and re-issues). */
  readonly flights: Flight[];
  /** Set once the call has failed or its caller aborted: it starts no more provider calls. */
  over: boolean;
}

/** What the provider calls of one cache share with it. */
export interface ProviderCallsDeps {
  readonly local: LocalVectors;
  readonly store: VectorStore;
  /** The cache's counters, counted into in place. */
  readonly counters: EmbeddingCacheStats;
  readonly batchSize: number;
  readonly maxParallelCalls: number;
}

/**
 * The provider side of one cache: a text is embedded by one provider call at a time, which other
 * callers wanting it join (single-flight); each fresh vector is written back to Redis and stays
 * findable in-process until that write has settled.
 */
export class ProviderCalls {
  /** Provider calls running, by key of each text they embed (single-flight). */
  private readonly inflight = new Map<string, Flight>();
  private readonly local: LocalVectors;
  private readonly store: VectorStore;
  private readonly counters: EmbeddingCacheStats;
  private readonly batchSize: number;
  private readonly maxParallelCalls: number;

  constructor(deps: ProviderCallsDeps) {
    this.local = deps.local;
    this.store = deps.store;
    this.counters = deps.counters;
    this.batchSize = deps.batchSize;
    this.maxParallelCalls = deps.maxParallelCalls;
  }

  /** The provider call running for `key`, to join instead of embedding the text again. */
  running(key: string): Flight | undefined {
    return this.inflight.get(key);
  }

  /**
   * Waits for another caller's provider call. If it failed (that caller's abort, credentials,
   * texts...), its error is not ours: the texts are re-issued, joining a call already running
   * for them or with our own provider, and after MAX_FOREIGN_FAILURES always with our own.
   */
  async follow(call: Call, flight: Flight, keys: readonly string[], failures: number): Promise<void> {
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
      const local = this.local.get(key);
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
  async embedOwn(call: Call, keys: readonly string[]): Promise<void> {
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
  abandon(call: Call): void {
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
    if (vectors[0]) this.local.knownDims.set(scope.family, vectors[0].length);
    const byKey = new Map<string, Float32Array>();
    const writes = new Array<WriteEntry>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] ?? '';
      const vector = vectors[i] ?? new Float32Array(0);
      byKey.set(key, vector);
      found.set(key, vector);
      this.local.memory?.set(key, vector);
      this.local.fresh.set(key, vector);
      writes[i] = [key, encodeVector(vector)];
    }
    this.land(flight, byKey);
    // Fresh vectors stay findable until Redis has answered for them (or they were dropped).
    const wait = this.store.write(writes, (settled) => {
      for (const [key] of settled) if (this.local.fresh.get(key) === byKey.get(key)) this.local.fresh.delete(key);
    });
    if (wait) await wait; // back-pressure: the write budget is full and Redis is still acknowledging writes
  }
}
