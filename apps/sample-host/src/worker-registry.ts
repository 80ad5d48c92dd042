import type { HostKeys, HostRedis } from './keys.js';

/** How often a worker renews its heartbeat, and how long one lasts without renewal. */
const BEAT_MS = 2_000;
const TTL_MS = 6_000;

/**
 * Worker processes announce themselves in a sorted set (member: name, score: expiry), so the
 * API's `/metrics` and the demo can count live workers across processes. A worker that dies
 * simply stops renewing and drops out after a few seconds.
 */
export class WorkerRegistry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: HostRedis,
    private readonly keys: HostKeys,
  ) {}

  /** Registers `name` now and renews it until `stop()`. */
  async start(name: string): Promise<void> {
    const beat = () => this.redis.zadd(this.keys.workers, Date.now() + TTL_MS, name);
    await beat();
    this.timer = setInterval(() => void beat().catch(() => undefined), BEAT_MS);
    this.timer.unref();
  }

  /** Stops renewing and removes `name` (the worker no longer takes jobs). */
  async stop(name: string): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.zrem(this.keys.workers, name).catch(() => undefined);
  }

  /** Names of the workers whose heartbeat has not expired. */
  async alive(): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.workers, Date.now(), '+inf');
  }
}
