import { createHash } from 'node:crypto';
import { startRedis, waitFor, type RedisServer } from '@lota/redis-testkit';
import { cleanupAfterEach, recordingLogger, type RecordingLogger } from '@lota/redis-testkit/vitest';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createEmbeddingCache, type EmbeddingCache, type EmbeddingCacheOptions, type EmbeddingProvider } from '../src/index.js';

/** Deterministic vectors from the text: the same text always gives the same vector. */
export function vectorFor(text: string, dims: number, salt = ''): number[] {
  const out = new Array<number>(dims);
  let seed = createHash('sha256').update(salt + text).digest().readUInt32LE(0);
  for (let i = 0; i < dims; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    out[i] = seed / 2 ** 32 - 0.5;
  }
  return out;
}

/** A provider that records what it was asked, optionally slow or failing. */
export function fakeProvider(opts: { model?: string; dims?: number; latencyMs?: number; salt?: string; dimensionsOption?: boolean } = {}): EmbeddingProvider & {
  calls: string[][];
  failWith?: Error;
} {
  const dims = opts.dims ?? 8;
  const model = opts.model ?? 'test-embed-1';
  const provider = {
    model,
    ...(opts.dimensionsOption ? { dimensions: dims } : {}),
    calls: [] as string[][],
    failWith: undefined as Error | undefined,
    async embed(texts: string[]): Promise<number[][]> {
      provider.calls.push([...texts]);
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      if (provider.failWith) throw provider.failWith;
      return texts.map((t) => vectorFor(t, dims, opts.salt ?? model));
    },
  };
  return provider;
}

/** The float32 rounding every returned value goes through. */
export const f32 = (v: number[]): number[] => Array.from(Float32Array.from(v));

/**
 * One private Redis server for the whole test file, started before its tests (and flushed after
 * each one when `flush` is set). Read `redis` / `server` inside tests, not at load time.
 */
export function fileRedis(opts: { flush?: boolean } = {}): { readonly redis: Redis; readonly server: RedisServer } {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    await waitFor(() => redis?.status === 'ready');
  });
  if (opts.flush) {
    afterEach(async () => {
      await redis?.flushall();
    });
  }
  afterAll(async () => {
    redis?.disconnect();
    await server?.dispose();
  });
  return {
    get redis() {
      if (!redis) throw new Error('fileRedis: used before beforeAll ran');
      return redis;
    },
    get server() {
      if (!server) throw new Error('fileRedis: used before beforeAll ran');
      return server;
    },
  };
}

/**
 * A private server, a client and a cache per `setup()` call, all disposed after the test (for
 * tests that kill, pause or fill their server); `defer` adds other clean-ups. Call once at the
 * top level of a test file.
 */
export function perTestCache(): {
  setup: (
    opts?: Partial<EmbeddingCacheOptions>,
    server?: Parameters<typeof startRedis>[0],
  ) => Promise<{ server: RedisServer; redis: Redis; cache: EmbeddingCache; logger: RecordingLogger }>;
  defer: (cleanup: () => unknown) => void;
} {
  const defer = cleanupAfterEach();
  return {
    defer,
    setup: async (opts = {}, serverOpts = {}) => {
      const server = await startRedis(serverOpts);
      defer(() => server.dispose());
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      defer(() => redis.disconnect());
      await waitFor(() => redis.status === 'ready');
      const logger = recordingLogger();
      const cache = createEmbeddingCache({ redis, memory: false, logger, ...opts });
      return { server, redis, cache, logger };
    },
  };
}
