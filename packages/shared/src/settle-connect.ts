/**
 * `connect()` of an ioredis Cluster that always settles.
 *
 * ioredis (5.x, still 5.11) drops the promise of `Cluster#connect()` when the connection's ready
 * check fails: CLUSTER INFO answers `cluster_state:fail`, or is sent to a node that just died,
 * which is exactly what a failover looks like. The cluster then reconnects by itself through a
 * new `connect()` and becomes ready, but the first promise never resolves nor rejects (ioredis
 * issue #709, closed unfixed).
 *
 * BullMQ 6.7 awaits that promise: when a worker's BZPOPMIN outlives its block timeout by 1 s,
 * its watchdog resets the blocking connection (disconnect, then `connect()`) and the worker's
 * fetch loop waits for the reset; a worker created while lazy clients connect awaits it too. A
 * reset during a failover stopped the worker for good, without an error.
 *
 * {@link settleConnect} makes `connect()` also resolve on the client's next `ready` (whichever
 * connect attempt got there) and reject on its next `end` (closed for good), besides ioredis' own
 * outcome. At most one listener pair per client, whatever the number of calls.
 */

/** What this module needs of a client: ioredis' `Cluster`, or BullMQ's wrapper around one. */
export interface ConnectableClient {
  readonly isCluster?: boolean;
  connect(): Promise<void>;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'end', listener: () => void): unknown;
}

/**
 * Marks a client whose `connect()` already settles. A global symbol: `@lota/redis-connection`
 * wraps every Cluster client it makes and `@lota/queues` the blocking clients of its workers,
 * each with its own bundled copy of this module, and a client must be wrapped once.
 */
const SETTLED = Symbol.for('lota.redis.settledConnect');

/** ioredis' own message for a closed connection: BullMQ reads it as "connection error, retry". */
export const CONNECTION_CLOSED_MESSAGE = 'Connection is closed.';

/** A fresh error with ioredis' message for a closed connection. */
export function connectionClosedError(): Error {
  return new Error(CONNECTION_CLOSED_MESSAGE);
}

/** The client's next `ready` (resolves) or `end` (rejects); `settled` turns true synchronously with it. */
interface NextState {
  readonly promise: Promise<void>;
  readonly settled: boolean;
}

function nextState(client: ConnectableClient): NextState {
  let settled = false;
  const promise = new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      client.off('end', onEnd);
      settled = true;
      resolve();
    };
    const onEnd = (): void => {
      client.off('ready', onReady);
      settled = true;
      reject(connectionClosedError());
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
  // Nobody may be waiting on it any more when it rejects (every caller settled already).
  promise.catch(() => undefined);
  return {
    promise,
    get settled() {
      return settled;
    },
  };
}

/**
 * Wraps `client.connect` (an own property, so ioredis' internal reconnects use it too) so that
 * it settles as described above. Cluster clients only: a single-node client's `connect()`
 * settles by itself. Idempotent.
 */
export function settleConnect(client: ConnectableClient): void {
  const marked = client as unknown as Record<symbol, unknown>;
  if (client.isCluster !== true || marked[SETTLED] === true) return;
  const original = client.connect.bind(client);
  let next: NextState | undefined;
  (client as { connect: () => Promise<void> }).connect = (): Promise<void> => {
    // Listen before connecting: a 'ready' or 'end' of this very attempt must count.
    if (!next || next.settled) next = nextState(client);
    return Promise.race([original(), next.promise]);
  };
  marked[SETTLED] = true;
}
