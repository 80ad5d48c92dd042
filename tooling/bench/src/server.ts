import { startRedis, type RedisServer } from '@lota/redis-testkit';
import { Redis } from 'ioredis';
import type { BenchContext } from './types.js';

/** The private Redis a suite measures on. */
export interface BenchRedis {
  readonly server: RedisServer;
  readonly url: string;
  /** The one client the code under test shares, every side alike (`maxRetriesPerRequest: null`, as BullMQ wants). */
  readonly client: Redis;
  /** FLUSHALL, INFO, CLIENT LIST and the like; never used by the code under test. */
  readonly admin: Redis;
}

/**
 * Starts a private redis-server for one suite (from @lota/redis-testkit: never the one on port
 * 6379), notes its version for the results header, runs `measure` with a shared client and an
 * admin client, then stops it whatever happened.
 */
export async function withBenchRedis<T>(ctx: BenchContext, measure: (redis: BenchRedis) => Promise<T>): Promise<T> {
  const server = await startRedis();
  const client = new Redis(server.url, { maxRetriesPerRequest: null });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  admin.on('error', () => undefined);
  try {
    await ctx.noteServer(server);
    await Promise.all([client.ping(), admin.ping()]);
    return await measure({ server, url: server.url, client, admin });
  } finally {
    client.disconnect();
    admin.disconnect();
    await server.dispose();
  }
}
