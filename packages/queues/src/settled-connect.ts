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
 * fetch loop waits for the reset. A reset during a failover therefore stopped the worker for
 * good, silently: no error, no retry, jobs of its queue waiting forever.
 *
 * {@link settleConnect} makes the client's `connect()` resolve on the client's next `ready`
 * (whichever connect attempt got there) and reject on `end` (closed for good), besides ioredis'
 * own outcome. One listener pair per client at most, whatever the number of calls.
 */

/** What this module needs of a client: ioredis' `Cluster`, or BullMQ's wrapper around one. */
export interface ConnectableClient {
  readonly isCluster?: boolean;
  connect(): Promise<void>;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'end', listener: () => void): unknown;
}

/**
 * Marks a client whose `connect()` already settles. A global symbol, shared with
 * @lota/redis-connection (which does the same for every Cluster client it makes), so a client is
 * wrapped once whichever package gets to it first.
 */
const SETTLED = Symbol.for('lota.redis.settledConnect');

/** ioredis' own message for a closed connection: BullMQ reads it as "connection error, retry". */
const CONNECTION_CLOSED = 'Connection is closed.';

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
      reject(new Error(CONNECTION_CLOSED));
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
 * it settles as described above. Only Cluster clients: a single-node ioredis client's
 * `connect()` settles by itself. Idempotent.
 */
export function settleConnect(client: ConnectableClient): void {
  const marked = client as unknown as Record<symbol, unknown>;
  if (client.isCluster !== true || marked[SETTLED] === true) return;
  const original = client.connect.bind(client);
  let next: NextState | undefined;
  const wrapped = (): Promise<void> => {
    // Listen before connecting: a 'ready' or 'end' of this very attempt must count.
    if (!next || next.settled) next = nextState(client);
    return Promise.race([original(), next.promise]);
  };
  (client as { connect: () => Promise<void> }).connect = wrapped;
  marked[SETTLED] = true;
}
