import type { Cluster, Redis } from 'ioredis';
import { ACQUIRE, EXTEND, LEAVE, RAISE_FENCE, RELEASE } from './scripts.js';

/** A client the host gave the lock: one Redis master, or a Cluster. */
export type Client = Redis | Cluster;

/** The commands `defineCommand` adds (EVALSHA, falling back to EVAL once per connection). */
export interface LockCommands {
  lotaLockAcquire(
    owner: string, fence: string, queue: string, expiries: string, tickets: string,
    token: string, ttl: number, entryTtl: number, fair: string, channel: string, sender: string, tag: string,
  ): Promise<[number, number, number?]>;
  lotaLockRelease(
    owner: string, fence: string, queue: string, expiries: string, tickets: string,
    token: string, channel: string, sender: string, tag: string, nextToken: string, nextTtl: number, entryTtl: number, fair: string, mayKeep: string,
  ): Promise<[number, number?, number?]>;
  lotaLockLeave(
    owner: string, fence: string, queue: string, expiries: string, tickets: string,
    token: string, channel: string, sender: string, tag: string, entryTtl: number, fair: string,
  ): Promise<number>;
  lotaLockExtend(owner: string, token: string, ttl: number): Promise<number>;
  lotaLockRaiseFence(fence: string, value: number): Promise<number>;
}

/** A client with the lock's scripts defined on it. */
export type LockClient = Client & LockCommands;

/** Defines the lock's scripts on `client` (once: a client shared by several locks keeps the first definition). */
export function defineLockCommands(client: Client): LockClient {
  const c = client as Client & Partial<LockCommands>;
  if (typeof c.lotaLockAcquire !== 'function') client.defineCommand('lotaLockAcquire', { numberOfKeys: 5, lua: ACQUIRE });
  if (typeof c.lotaLockLeave !== 'function') client.defineCommand('lotaLockLeave', { numberOfKeys: 5, lua: LEAVE });
  if (typeof c.lotaLockRelease !== 'function') client.defineCommand('lotaLockRelease', { numberOfKeys: 5, lua: RELEASE });
  if (typeof c.lotaLockExtend !== 'function') client.defineCommand('lotaLockExtend', { numberOfKeys: 1, lua: EXTEND });
  if (typeof c.lotaLockRaiseFence !== 'function') client.defineCommand('lotaLockRaiseFence', { numberOfKeys: 1, lua: RAISE_FENCE });
  return client as LockClient;
}
