import { raceTimeout } from '@lota/shared';
import type { Cluster, Redis } from 'ioredis';

/**
 * Producers fail fast: once a connection has been ready, anything but 'ready' means Redis is
 * down or reconnecting, and the job is refused without being sent (so it cannot appear later).
 * Only a client that is still making its first connection is waited for, within the deadline.
 * One per client: its one 'ready' listener serves every enqueue that waits.
 */
export class FirstConnection {
  private everReady: boolean;
  /** Resolves on the client's first 'ready': one listener for every enqueue that waits for it. */
  private readonly firstReady: Promise<void> | undefined;

  constructor(private readonly client: Redis | Cluster) {
    this.everReady = client.status === 'ready';
    this.firstReady = this.everReady
      ? undefined
      : new Promise<void>((resolve) => {
          client.once('ready', () => {
            this.everReady = true;
            resolve();
          });
        });
  }

  /**
   * `undefined` when the client is ready: the hot path stays synchronous (no promise, no
   * microtask). Otherwise whether it became ready in time: `true` once a first connection still
   * in progress is made within `ms` (a lazy client in 'wait' is connected now); `false` at once
   * when it has been ready before or is not connecting, or when `ms` runs out. Never rejects.
   */
  wait(ms: number): Promise<boolean> | undefined {
    const status = this.client.status;
    if (status === 'ready') return undefined;
    return this.waitFirst(status, ms);
  }

  private async waitFirst(status: string, ms: number): Promise<boolean> {
    if (this.everReady || !this.firstReady || !(status === 'wait' || status === 'connecting' || status === 'connect')) return false;
    if (status === 'wait') this.client.connect().catch(() => undefined);
    return (await raceTimeout(this.firstReady, ms)).done;
  }
}
