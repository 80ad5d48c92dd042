import { TestkitCapabilityError } from './errors.js';
import type { RedisServer } from './server.js';

/** A server this process does not own (REDIS_URL): usable, but it cannot be killed or paused. */
export class ExternalRedisServer implements RedisServer {
  readonly backend = 'external' as const;
  readonly controllable = false;
  readonly dir = undefined;
  readonly pid = undefined;
  readonly tls = undefined;
  readonly running = true;
  readonly paused = false;
  readonly host: string;
  readonly port: number;

  constructor(readonly url: string) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = Number(parsed.port || 6379);
  }

  private refuse(what: string): Promise<never> {
    return Promise.reject(
      new TestkitCapabilityError(
        `redis-testkit: cannot ${what} the external server from REDIS_URL; unset REDIS_URL to let tests start their own servers.`,
      ),
    );
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
  kill(): Promise<void> {
    return this.refuse('kill');
  }
  pause(): Promise<void> {
    return this.refuse('pause');
  }
  resume(): Promise<void> {
    return this.refuse('resume');
  }
  restart(): Promise<void> {
    return this.refuse('restart');
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
