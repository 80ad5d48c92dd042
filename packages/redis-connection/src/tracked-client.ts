import type { ClientRole, RedisClient } from './client-factory.js';

/** A client the manager made (or a duplicate of one), with its health-check bookkeeping. */
export interface TrackedClient {
  readonly client: RedisClient;
  readonly role: ClientRole;
  /** Duplicates of the BullMQ client serve workers' blocking commands (BZPOPMIN, XREAD BLOCK). */
  readonly blocking: boolean;
  /** A PING is in flight; the next round skips this client rather than piling up PINGs. */
  checking: boolean;
  /** Set on the first error of an outage, cleared on `ready`: repeats are logged at debug. */
  failing: boolean;
}

export function isCluster(client: RedisClient): boolean {
  return (client as { isCluster?: boolean }).isCluster === true;
}
