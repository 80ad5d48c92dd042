import type { Cluster, Redis } from 'ioredis';
import { connectionClosedError } from '@lota/shared';
import type { RedisClient } from './client-factory.js';
import { clusterNodeClients } from './cluster-nodes.js';
import { isCluster } from './tracked-client.js';

/**
 * Rejecting the commands ioredis forgets.
 *
 * ioredis rejects a closed connection's commands with `flushQueue()`, which empties only the
 * offline queue and the command queue. Two kinds of command escape it, and on a client with
 * `commandTimeout` each holds a ref'd timer (the process cannot exit for up to that long):
 *
 * - Commands unanswered when a *ready* connection closed. ioredis moves them to
 *   `prevCommandQueue` to resend them once a later connection is ready; if none ever is (the
 *   client is disconnected first), they stay pending.
 * - Commands written on a connection that closed *before* it was ready: its handshake (AUTH or
 *   HELLO, SELECT, CLIENT SETNAME / SETINFO, the ready check's INFO), and commands flagged
 *   `loading`. The next connect calls `resetCommandQueue()`, which replaces the queue and
 *   drops them: no reply can ever reach them, nothing rejects them.
 *
 * This is the only file that reads ioredis internals. The names below are the same in ioredis
 * 5.9.0, 5.11.1 and 6.0.0 (read in `built/Redis.js`, `built/redis/event_handler.js`,
 * `built/cluster/index.js`, `built/cluster/DelayQueue.js`; test/pending-commands.test.ts
 * passed against 5.11.1 and 6.0.0) and the test fails if a release renames or drops them:
 *
 * - `Redis#offlineQueue`, `Redis#commandQueue`, `Redis#prevCommandQueue`: Denque of
 *   `{ command }`; `Redis#flushQueue(error)` rejects the first two (and stops reading replies
 *   for the second: a late reply must not meet an empty queue).
 * - `Redis#resetCommandQueue()`: called on the instance by ioredis' connect handler.
 * - `Redis#setStatus(status)`: sets `status` and emits the event of that name on the next tick.
 * - `Cluster#offlineQueue` (rejected by `Cluster#flushQueue(error)`) and `Cluster#delayQueue`
 *   (commands waiting out `retryDelayOnTryAgain` / `OnFailover` / `OnClusterDown`: a timer in
 *   `timeouts[bucket]`, the retries run by `execute(bucket)`).
 * - `Command#reject(error)`: settles the command and clears its timeout and blocking timers.
 */

interface QueuedCommand {
  command: { reject(error: Error): void };
}

interface CommandDeque {
  readonly length: number;
  shift(): QueuedCommand | undefined;
}

interface RedisInternals {
  status: string;
  setStatus?: (status: string) => void;
  offlineQueue?: CommandDeque;
  commandQueue?: CommandDeque;
  prevCommandQueue?: CommandDeque | null;
  resetCommandQueue?: () => void;
  flushQueue?: (error: Error) => void;
}

interface DelayQueueInternals {
  timeouts?: Record<string, NodeJS.Timeout | null | undefined>;
  execute?: (bucket: string) => void;
}

interface ClusterInternals {
  offlineQueue?: CommandDeque;
  delayQueue?: DelayQueueInternals;
  flushQueue?: (error: Error) => void;
}

const guarded = new WeakSet<object>();

function isDeque(value: unknown): value is CommandDeque {
  return typeof value === 'object' && value !== null && typeof (value as CommandDeque).shift === 'function' && typeof (value as CommandDeque).length === 'number';
}

/**
 * The ioredis internals this module needs that `client` lacks (empty when all are there). With
 * any missing, the functions below do what they still can and never throw.
 */
export function missingIoredisInternals(client: RedisClient): string[] {
  if (isCluster(client)) {
    const c = client as unknown as ClusterInternals;
    const missing: string[] = [];
    if (!isDeque(c.offlineQueue)) missing.push('Cluster#offlineQueue');
    if (typeof c.flushQueue !== 'function') missing.push('Cluster#flushQueue');
    if (typeof c.delayQueue?.execute !== 'function' || typeof c.delayQueue.timeouts !== 'object') missing.push('Cluster#delayQueue');
    return missing;
  }
  const r = client as unknown as RedisInternals;
  const missing: string[] = [];
  if (!isDeque(r.offlineQueue)) missing.push('Redis#offlineQueue');
  if (!isDeque(r.commandQueue)) missing.push('Redis#commandQueue');
  if (typeof r.flushQueue !== 'function') missing.push('Redis#flushQueue');
  if (typeof r.setStatus !== 'function') missing.push('Redis#setStatus');
  if (typeof r.resetCommandQueue !== 'function') missing.push('Redis#resetCommandQueue');
  return missing;
}

function rejectAll(queue: unknown, error: Error): number {
  if (!isDeque(queue)) return 0;
  let count = 0;
  for (let item = queue.shift(); item; item = queue.shift()) {
    item.command.reject(error);
    count++;
  }
  return count;
}

function queued(queue: unknown): number {
  return isDeque(queue) ? queue.length : 0;
}

/**
 * Makes ioredis reject, with ioredis' own message for a closed connection (BullMQ and hosts match on it), the commands it would otherwise
 * drop when a connection that never became ready is replaced: at that moment, not when their
 * `commandTimeout` fires (or never, on a client without one). Commands kept for resend are left
 * alone. On a Cluster, applies to every node client it creates, and rejects what a node client
 * still holds when it ends. Idempotent.
 */
export function guardPendingCommands(client: RedisClient): void {
  if (guarded.has(client)) return;
  guarded.add(client);
  if (isCluster(client)) {
    (client as Cluster).on('+node', (node: Redis) => {
      guardPendingCommands(node);
      // A node client that ended is gone for good (its pool makes a new one if the node comes back).
      node.once('end', () => rejectPendingCommands(node, connectionClosedError()));
    });
    return;
  }
  const r = client as unknown as RedisInternals;
  const reset = r.resetCommandQueue;
  if (typeof reset !== 'function') return;
  r.resetCommandQueue = function resetCommandQueue(this: RedisInternals): void {
    const replaced = r.commandQueue;
    reset.call(this);
    if (replaced !== r.prevCommandQueue && replaced !== r.commandQueue) rejectAll(replaced, connectionClosedError());
  };
}

/**
 * Rejects every command `client` still holds with `error`, and returns how many it held: the
 * offline queue, the commands awaiting a reply, those kept for resend after a reconnect; on a
 * Cluster its offline queue, the retries waiting out a delay (they run now and, the cluster
 * being closed, fail), and every node client's commands. Call it after `client.disconnect()`
 * or `quit()`: on a live client, a rejected command may already have been executed.
 */
export function rejectPendingCommands(client: RedisClient, error: Error): number {
  if (isCluster(client)) {
    const c = client as unknown as ClusterInternals;
    let count = 0;
    const delay = c.delayQueue;
    if (delay && typeof delay.execute === 'function' && typeof delay.timeouts === 'object') {
      for (const [bucket, timer] of Object.entries(delay.timeouts)) {
        if (!timer) continue;
        clearTimeout(timer);
        delay.timeouts[bucket] = null;
        delay.execute(bucket);
      }
    }
    count += queued(c.offlineQueue);
    if (typeof c.flushQueue === 'function') c.flushQueue(error);
    else rejectAll(c.offlineQueue, error);
    // Node clients ioredis dropped from nodes() on disconnect (or lost: see cluster-nodes.ts) included.
    for (const node of clusterNodeClients(client)) count += rejectPendingCommands(node, error);
    return count;
  }
  const r = client as unknown as RedisInternals;
  let count = queued(r.offlineQueue) + queued(r.commandQueue);
  if (typeof r.flushQueue === 'function') r.flushQueue(error);
  // Last, and after flushQueue: it may be the same queue as commandQueue (a ready connection just closed).
  count += rejectAll(r.prevCommandQueue, error);
  return count;
}

/**
 * Finishes what `client.disconnect()` started, and returns how many commands it rejected. A
 * Redis client that was waiting to reconnect has no socket, so no 'close' ever comes to end it:
 * it would stay `reconnecting`, and every command sent to it later (the ready check ioredis runs
 * once a handshake command fails, a library's retry) would wait in its offline queue, with its
 * `commandTimeout` timer, or forever. This ends it as ioredis' own close path does (status `end`,
 * so ioredis rejects later commands at once) and then rejects its pending commands. A client with
 * a socket still closing is left to ioredis, which ends it when the socket closes.
 */
export function finishDisconnect(client: RedisClient, error: Error): number {
  const r = client as unknown as RedisInternals;
  if (!isCluster(client) && r.status === 'reconnecting' && typeof r.setStatus === 'function') r.setStatus('end');
  return rejectPendingCommands(client, error);
}
