/**
 * Typings for the two peers that ship none usable under NodeNext resolution, written from their
 * sources in node_modules (only what the lock suite calls):
 *
 * - `redlock-v4` (redlock@4.2.0, CommonJS, bluebird promises; `module.exports = Redlock`).
 *   Talks to any client with node-redis style `evalsha(hash, argsArray, callback)` /
 *   `eval(argsArray, callback)`; ioredis 5 accepts that form (flattened args, trailing callback).
 * - `redlock-v5` (redlock@5.0.0-beta.2): its `dist/index.d.ts` exists but its `exports` map has no
 *   `types` condition, so TypeScript cannot see it; this mirrors the parts of that file we use.
 */

declare module 'redlock-v4' {
  import type { EventEmitter } from 'node:events';

  namespace Redlock {
    interface Options {
      driftFactor?: number;
      /** Attempts after the first; -1 retries forever. Default 10. */
      retryCount?: number;
      /** ms between attempts. Default 200. */
      retryDelay?: number;
      /** ± ms added to each delay. Default 100. */
      retryJitter?: number;
    }
    interface Lock {
      readonly resource: string | string[];
      readonly value: string;
      expiration: number;
      readonly attempts: number;
      unlock(): PromiseLike<void>;
      extend(ttl: number): PromiseLike<Lock>;
    }
    interface LockError extends Error {
      readonly attempts: number;
    }
  }

  class Redlock extends EventEmitter {
    constructor(clients: readonly object[], options?: Redlock.Options);
    lock(resource: string | string[], ttl: number): PromiseLike<Redlock.Lock>;
    unlock(lock: Redlock.Lock): PromiseLike<void>;
  }

  export = Redlock;
}

declare module 'redlock-v5' {
  import type { EventEmitter } from 'node:events';
  import type { Cluster, Redis } from 'ioredis';

  export interface Settings {
    readonly driftFactor: number;
    /** Attempts after the first; -1 retries forever. Default 10. */
    readonly retryCount: number;
    /** ms between attempts. Default 200. */
    readonly retryDelay: number;
    /** ± ms added to each delay. Default 100. */
    readonly retryJitter: number;
    readonly automaticExtensionThreshold: number;
  }

  export class ExecutionError extends Error {}
  export class ResourceLockedError extends Error {}

  export class Lock {
    readonly resources: string[];
    readonly value: string;
    expiration: number;
    release(): Promise<unknown>;
    extend(duration: number): Promise<Lock>;
  }

  export default class Redlock extends EventEmitter {
    readonly settings: Settings;
    constructor(clients: Iterable<Redis | Cluster>, settings?: Partial<Settings>);
    acquire(resources: string[], duration: number, settings?: Partial<Settings>): Promise<Lock>;
    release(lock: Lock, settings?: Partial<Settings>): Promise<unknown>;
  }
}
