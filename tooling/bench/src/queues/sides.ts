/**
 * The two sides of the queues suite, @lota/queues and raw BullMQ, and how they take turns.
 *
 * Fairness rules: both sides share one ioredis client (maxRetriesPerRequest: null), use the same
 * `<prefix>:{<queue>}` key shape with prefixes of equal length, and the raw queues get exactly the
 * defaultJobOptions LotaQueues.getQueue() sets (attempts, backoff, removeOnComplete,
 * removeOnFail), so Redis does the same work per job. The database is flushed before every
 * measured run; ours and raw alternate (raw, ours / ours, raw / raw, ours) and each row is the
 * median of the repetitions.
 */
import { isDeepStrictEqual } from 'node:util';
import { createQueues, queuePrefix, type Logger, type LotaQueues, type QueuePolicy } from '@lota/queues';
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BenchContext } from '../types.js';

export const SUITE = 'queues';
/** Same length, same shape: `lota:{bench-queue}` vs `bull:{bench-queue}`. */
const OURS_PREFIX = 'lota';
export const RAW_PREFIX = 'bull';
export const HOST_QUEUE = 'bench-queue';
export const DEDUPE_QUEUE = 'memory-extraction';

/** Measured repetitions per side; each row is their median. */
export const REPS = 7;
/** Untimed operations before a measured run. */
export const WARMUP = 100;

export const THROUGHPUT_GOAL = 'overhead <= 10%';
export const MAX_OVERHEAD = 0.1;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
export const noop = (): Promise<undefined> => Promise.resolve(undefined);

export type Side = 'raw' | 'ours';

export interface Env {
  ctx: BenchContext;
  url: string;
  /** The one client both sides share. */
  connection: Redis;
  /** FLUSHALL and CLIENT LIST; never used by the code under test. */
  admin: Redis;
  adminId: number;
}

/** Ours, with the host queue declared the way a host would (no retries, like the raw default). */
export function newOurs(connection: Redis): LotaQueues {
  return createQueues({ connection, prefix: OURS_PREFIX, policies: { [HOST_QUEUE]: { maxRetries: 0 } }, logger: silent });
}

/** The defaultJobOptions LotaQueues.getQueue() gives a queue with this policy (default keepCompleted/keepFailed). */
function sameDefaults(policy: Readonly<QueuePolicy>): DefaultJobOptions {
  return {
    attempts: policy.maxRetries + 1,
    backoff: { type: 'exponential', delay: policy.backoffDelayMs },
    removeOnComplete: { count: 1_000, age: 86_400 },
    removeOnFail: { count: 10_000, age: 7 * 86_400 },
  };
}

export function newRawQueue(env: Env, name: string): Queue {
  const policy = newOurs(env.connection).policy(name); // no Redis traffic: just the resolved policy
  const queue = new Queue(name, { connection: env.connection, prefix: queuePrefix(RAW_PREFIX, name), defaultJobOptions: sameDefaults(policy) });
  queue.on('error', () => undefined);
  return queue;
}

/** Warns (once per queue) if the raw anchor stopped matching ours, which would make the comparison unfair. */
const checked = new Set<string>();
export function checkDefaults(env: Env, ours: LotaQueues, name: string): void {
  if (checked.has(name)) return;
  checked.add(name);
  const actual = ours.getQueue(name).defaultJobOptions;
  const mirrored = sameDefaults(ours.policy(name));
  if (!isDeepStrictEqual(actual, mirrored)) {
    env.ctx.log(`WARNING: raw defaultJobOptions for '${name}' no longer match @lota/queues: ours ${JSON.stringify(actual)}, raw ${JSON.stringify(mirrored)}; update sameDefaults().`);
  }
}

export async function flush(env: Env): Promise<void> {
  await env.admin.flushall();
}

/**
 * Runs both sides `reps` times, alternating which goes first, flushing Redis before each run.
 */
export async function alternate<T>(env: Env, reps: number, sides: Record<Side, () => Promise<T>>): Promise<Record<Side, T[]>> {
  const out: Record<Side, T[]> = { raw: [], ours: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order: Side[] = rep % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
    for (const side of order) {
      await flush(env);
      out[side].push(await sides[side]());
    }
  }
  return out;
}
