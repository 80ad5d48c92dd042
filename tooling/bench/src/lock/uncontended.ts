/**
 * Uncontended: one caller, N sequential acquire+release with an empty section (so timer
 * granularity does not drown the lock's own cost), after a warm-up.
 */
import { commandsSent } from './command-counter.js';
import type { LockConfig, Locker } from './configs.js';
import { serverCommands, serverDelta, type Env } from './env.js';
import { percentile } from '../stats.js';

export const UNCONTENDED_ROUNDS = 15;
export const UNCONTENDED_CHUNK = 100;
export const UNCONTENDED_N = UNCONTENDED_ROUNDS * UNCONTENDED_CHUNK;
const UNCONTENDED_WARMUP = 200;

export interface UncontendedStats {
  p50us: number;
  p99us: number;
  clientCmdsPerOp: number;
  serverCmdsPerOp: number;
}

/**
 * Every config gets UNCONTENDED_WARMUP untimed calls, then UNCONTENDED_ROUNDS rounds in which
 * each config (in a rotating order) does UNCONTENDED_CHUNK timed sequential calls: a noisy
 * moment on a shared machine hits every config alike instead of one config's whole run.
 */
export async function uncontended(env: Env, configs: readonly LockConfig[]): Promise<Map<string, UncontendedStats>> {
  env.ctx.log(
    `uncontended: ${UNCONTENDED_N} sequential acquire+release per config, interleaved in ${UNCONTENDED_ROUNDS} rounds of ${UNCONTENDED_CHUNK} (+${UNCONTENDED_WARMUP} warm-up)`,
  );
  await env.admin.flushall();
  const empty = (): Promise<void> => Promise.resolve();
  const lockers = new Map<string, Locker>();
  try {
    for (const config of configs) {
      const locker = await config.create(env.client);
      lockers.set(config.id, locker);
      for (let i = 0; i < UNCONTENDED_WARMUP; i++) await locker.withLock(empty);
    }
    const acc = new Map(configs.map((c) => [c.id, { latencies: [] as number[], client: 0, server: 0 }]));
    for (let round = 0; round < UNCONTENDED_ROUNDS; round++) {
      const shift = round % configs.length;
      for (const config of [...configs.slice(shift), ...configs.slice(0, shift)]) {
        const locker = lockers.get(config.id);
        const into = acc.get(config.id);
        if (!locker || !into) continue;
        const server0 = await serverCommands(env);
        const client0 = commandsSent();
        for (let i = 0; i < UNCONTENDED_CHUNK; i++) {
          const t = process.hrtime.bigint();
          await locker.withLock(empty);
          into.latencies.push(Number(process.hrtime.bigint() - t) / 1e3);
        }
        into.client += commandsSent() - client0;
        into.server += serverDelta(server0, await serverCommands(env));
      }
    }
    const out = new Map<string, UncontendedStats>();
    for (const [id, a] of acc) {
      const n = a.latencies.length;
      out.set(id, { p50us: percentile(a.latencies, 50), p99us: percentile(a.latencies, 99), clientCmdsPerOp: a.client / n, serverCmdsPerOp: a.server / n });
    }
    return out;
  } finally {
    for (const locker of lockers.values()) await locker.close();
  }
}
