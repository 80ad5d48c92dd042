/**
 * Durable enqueue: adds acknowledged only once `WAIT numreplicas timeout` has confirmed that
 * enough replicas received them (`waitForReplicas`).
 *
 * What WAIT counts: the replication offset of the last write *of its own connection*; it returns
 * how many replicas have acknowledged that offset. Redis replicates one ordered stream, so a
 * replica at that offset has the add and everything the master applied before it. BullMQ's add
 * always writes (a new job, or at least a `duplicated` / `deduplicated` event), so the offset is
 * never older than the add, also for a deduplicated call.
 *
 * The wire (replicated-exchange.ts): per batch, one pipeline of a MULTI…EXEC per call and one
 * WAIT behind them, on one connection, in one round trip.
 *
 * Why a connection of its own: WAIT blocks its connection. Redis reads nothing else from that
 * client until WAIT returns, up to its timeout when a replica is slow or gone. On the shared
 * BullMQ client it would stall everything behind it: workers' lock renewals and completions,
 * other queues' enqueues. So durable adds go over a duplicate of the client, made on first use
 * and closed by `close()` (with `@lota/redis-connection`, the manager tracks and health-checks it
 * like a worker's blocking connection).
 *
 * Group commit: one WAIT covers every write its connection made before it. While a WAIT of a
 * queue is in flight, that queue's new adds are held, then sent together behind one WAIT. Under
 * load this costs one WAIT per batch instead of one per add; with a replica down, every held add
 * gets its answer within about two WAIT timeouts, instead of queueing behind one blocked WAIT
 * after another until the enqueue deadline.
 *
 * Cluster redirections: ioredis re-sends a pipeline after MOVED/ASK only when no command in it
 * succeeded, and WAIT (keyless, answered by any node) always does. A transaction refused with a
 * redirection was not applied (EXECABORT), so it is re-sent here instead: after a slot-map
 * refresh for MOVED, after a short pause for ASK, TRYAGAIN and CLUSTERDOWN, within the call's
 * deadline.
 */
import { raceTimeout, type Logger } from '@lota/shared';
import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { AddRequest, EnqueueResult } from './enqueue-transaction.js';
import { QueuesClosedError, RedisUnreachableError } from './errors.js';
import { FirstConnection } from './first-connection.js';
import { queuePrefix } from './hash-tag.js';
import { exchange, notReady } from './replicated-exchange.js';

/**
 * Room left after a WAIT's timeout for its reply to reach the caller before the call's deadline
 * (else a clear answer becomes an ENQUEUE_TIMEOUT). Redis releases a timed-out WAIT on its event
 * loop's next turn, which on an idle server is the next serverCron tick: up to 1000/hz ms late
 * (100 ms at the default hz 10); plus the reply's trip.
 */
const WAIT_REPLY_MARGIN_MS = 150;
/** Calls per pipeline: bounds one write and the work Redis does before the batch's WAIT. */
const MAX_BATCH = 256;
/** ioredis' own default pause before retrying after TRYAGAIN / CLUSTERDOWN. */
const REDIRECT_RETRY_DELAY_MS = 100;

/** What one durable call got: what its adds did on the master, and the WAIT's answer. */
export interface ReplicatedOutcome {
  results: EnqueueResult[];
  /** WAIT's reply (replicas that have the adds); `undefined` when the WAIT itself failed. */
  acknowledged: number | undefined;
  waitError: Error | undefined;
  /** The timeout the WAIT was sent with: `waitForReplicasTimeoutMs`, shortened to fit the deadline. */
  waitTimeoutMs: number;
}

export interface ReplicatedAddOptions {
  replicas: number;
  timeoutMs: number;
  /** `performance.now()` at which the caller gives up (its enqueueTimeoutMs). */
  deadline: number;
}

interface Pending extends ReplicatedAddOptions {
  requests: readonly AddRequest[];
  resolve(outcome: ReplicatedOutcome): void;
  reject(err: unknown): void;
}

interface Connection {
  client: Redis | Cluster;
  /** BullMQ queues on this client: they define BullMQ's scripts on it and derive the keys. */
  queues: Map<string, Queue>;
  first: FirstConnection;
}

/** Durable adds over a dedicated connection, one group-commit lane per queue. */
export class ReplicatedEnqueuer {
  private current: Connection | undefined;
  private closed = false;
  private readonly lanes = new Map<string, { held: Pending[]; sending: boolean }>();

  constructor(
    private readonly source: Redis | Cluster,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Adds `requests` to `queue` in one transaction followed by a WAIT. Rejects with
   * `RedisUnreachableError` when the connection is not ready (nothing was sent), with the error of
   * a failed add, or resolves with the adds' results and the WAIT's answer for the caller to judge.
   */
  async add(queue: string, requests: readonly AddRequest[], opts: ReplicatedAddOptions): Promise<ReplicatedOutcome> {
    await this.ready(queue, opts.deadline);
    return new Promise<ReplicatedOutcome>((resolve, reject) => {
      let lane = this.lanes.get(queue);
      if (!lane) this.lanes.set(queue, (lane = { held: [], sending: false }));
      lane.held.push({ ...opts, requests, resolve, reject });
      if (!lane.sending) void this.drain(queue, lane);
    });
  }

  /** Closes the dedicated connection (not the one it duplicates). Calls in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const conn = this.current;
    this.current = undefined;
    if (!conn) return;
    // First, and disconnect() rather than QUIT: a WAIT in flight would hold a QUIT for its whole
    // timeout, and an unreachable Redis could hold the queues' close() past the caller's bound.
    conn.client.disconnect();
    await Promise.allSettled([...conn.queues.values()].map((q) => q.close()));
  }

  private open(): Connection {
    const stale = this.current;
    // ioredis ended the old client for good (it does not come back): a fresh one replaces it.
    if (stale) {
      stale.client.disconnect();
      void Promise.allSettled([...stale.queues.values()].map((q) => q.close()));
    }
    const client = this.source.duplicate();
    let failing = false;
    client.on('error', (err: Error) => {
      const fields = { error: err.message };
      if (failing) this.logger.debug(fields, 'durable-enqueue connection error (repeat)');
      else this.logger.warn(fields, 'durable-enqueue connection error; ioredis is reconnecting');
      failing = true;
    });
    const conn: Connection = { client, queues: new Map(), first: new FirstConnection(client) };
    client.on('ready', () => {
      failing = false;
    });
    this.current = conn;
    return conn;
  }

  /** Fails fast like every producer: only a connection still making its first connect is waited for. */
  private async ready(queue: string, deadline: number): Promise<void> {
    if (this.closed) throw new QueuesClosedError('enqueue');
    let conn = this.current;
    if (!conn || conn.client.status === 'end') conn = this.open();
    const waiting = conn.first.wait(deadline - performance.now());
    if (waiting && !(await waiting)) throw notReady(queue, conn.client.status);
  }

  private async drain(queue: string, lane: { held: Pending[]; sending: boolean }): Promise<void> {
    lane.sending = true;
    try {
      for (let head = lane.held[0]; head !== undefined; head = lane.held[0]) {
        const batch: Pending[] = [];
        const rest: Pending[] = [];
        for (const p of lane.held) (batch.length < MAX_BATCH && p.replicas === head.replicas && p.timeoutMs === head.timeoutMs ? batch : rest).push(p);
        lane.held = rest;
        await this.send(queue, batch).catch((err: unknown) => {
          for (const p of batch) p.reject(err);
        });
      }
    } finally {
      lane.sending = false;
    }
  }

  /** Sends one batch (again after a redirection) and settles every call in it. */
  private async send(queue: string, batch: Pending[]): Promise<void> {
    let live = batch;
    while (live.length > 0) {
      const now = performance.now();
      live = live.filter((p) => {
        if (p.deadline - now > WAIT_REPLY_MARGIN_MS) return true;
        // Too late to send and hear back within its bound: it is not sent at all, and says so.
        p.reject(
          new RedisUnreachableError(
            `@lota/queues: the enqueue to '${queue}' with waitForReplicas was not sent: earlier WAITs on its connection held it until its enqueueTimeoutMs was nearly over (replicas slow or gone). Nothing was enqueued; retry, or raise enqueueTimeoutMs.`,
          ),
        );
        return false;
      });
      if (live.length === 0) return;
      const conn = this.current;
      if (!conn) throw new QueuesClosedError('enqueue');
      const [first] = live;
      if (!first) return;
      const earliest = Math.min(...live.map((p) => p.deadline));
      const waitTimeoutMs = Math.max(1, Math.floor(Math.min(first.timeoutMs, earliest - now - WAIT_REPLY_MARGIN_MS)));
      // A little past the last deadline, so every caller's own timer (ENQUEUE_TIMEOUT) fires first.
      const latest = Math.max(...live.map((p) => p.deadline)) + WAIT_REPLY_MARGIN_MS;
      const calls = live.map((p) => p.requests);
      const sent = await raceTimeout(exchange(this.bullQueue(conn, queue), conn.client, queue, calls, first.replicas, waitTimeoutMs), latest - performance.now());
      if (!sent.done) {
        // Every caller of the batch has given up; stop waiting so the lane can move on.
        for (const p of live) p.reject(new Error('@lota/queues: no reply before the enqueue deadline'));
        return;
      }
      const { parts, wait } = sent.value;
      const acknowledged = wait[0] ? undefined : Number(wait[1]);
      const waitError = wait[0] ?? undefined;
      const again: Pending[] = [];
      let redirection: Error | undefined;
      live.forEach((p, i) => {
        const part = parts[i] ?? { kind: 'error', error: new Error('@lota/queues: missing reply') };
        if (part.kind === 'redirected') {
          again.push(p);
          redirection ??= part.error;
        } else if (part.kind === 'error') p.reject(part.error);
        else p.resolve({ results: part.results, acknowledged, waitError, waitTimeoutMs });
      });
      if (redirection) {
        // Past its deadline, a call gets the redirection itself (REDIS_UNREACHABLE: not applied).
        const last = Math.max(...again.map((p) => p.deadline));
        if (last - performance.now() <= REDIRECT_RETRY_DELAY_MS + WAIT_REPLY_MARGIN_MS) {
          for (const p of again) p.reject(redirection);
          return;
        }
        await this.recover(conn.client, redirection, last);
      }
      live = again;
    }
  }

  private bullQueue(conn: Connection, name: string): Queue {
    const existing = conn.queues.get(name);
    if (existing) return existing;
    const queue = new Queue(name, { connection: conn.client, prefix: queuePrefix(this.prefix, name) });
    queue.on('error', (err) => this.logger.error({ queue: name, error: err.message }, 'durable-enqueue queue error'));
    conn.queues.set(name, queue);
    return queue;
  }

  /** After MOVED, the slot map is refreshed; after ASK, TRYAGAIN, CLUSTERDOWN, a short pause. */
  private async recover(client: Redis | Cluster, redirection: Error, deadline: number): Promise<void> {
    if (redirection.message.startsWith('MOVED') && 'refreshSlotsCache' in client) {
      const refreshed = new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()));
      await raceTimeout(refreshed, deadline - performance.now());
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, REDIRECT_RETRY_DELAY_MS));
  }
}
