import { connectionClosedError, settleConnect, settleWithin, sleep, withDeadline } from '@lota/shared';
import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { createClient, HARD_CLOSE_MS, type ClientRole, type RedisClient } from './client-factory.js';
import { isResolvedRedisConfig, resolveRedisConfig, type RedisConfig, type ResolvedRedisConfig } from './options.js';
import { closeStrayNodes, trackClusterNodes } from './cluster-nodes.js';
import { NotConnectedError, RedisUnreachableError } from './errors.js';
import { HealthMonitor, type HealthResult } from './health-monitor.js';
import { finishDisconnect, guardPendingCommands, missingIoredisInternals, rejectPendingCommands } from './pending-commands.js';
import { secretRedactor } from './redact.js';
import { scrubError } from './scrub-error.js';
import { isCluster, type TrackedClient } from './tracked-client.js';

const guarded = new WeakSet<object>();

/**
 * The hard-close phase of `disconnect()`: ioredis' own destroy timer (HARD_CLOSE_MS) plus a
 * little slack for the socket's 'close' to run. `disconnect()` always reserves it.
 */
const HARD_CLOSE_WAIT_MS = HARD_CLOSE_MS + 10;

/**
 * ioredis listens for a socket's `error` with `once`. A failed TLS handshake can emit a second
 * error (the server's alert) on the same socket, which would then crash the process as an
 * uncaught exception. After the first error we give the socket a listener of its own.
 */
function guardStream(client: RedisClient): void {
  const stream = (client as { stream?: { on(event: 'error', l: () => void): void } }).stream;
  if (stream && !guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', () => undefined);
  }
}

/** Lifecycle of a manager. `closed` is final. */
export type ManagerState = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed';

/** What `health()` reports. */
export interface RedisHealth {
  /** `ready`: PING answered and every client is connected; `degraded`: PING answered, some client is reconnecting; `down`: no answer. */
  status: 'ready' | 'degraded' | 'down' | 'idle' | 'closed';
  /** Round trip of a PING on the general client, in ms; `null` when it failed. */
  latencyMs: number | null;
  /** `maxmemory-policy` of the server (of the first master on a cluster); `null` if CONFIG is not allowed. */
  evictionPolicy: string | null;
  /** Number of Redis clients this manager owns right now, duplicates handed to BullMQ workers included. */
  connections: number;
  /** Each client's role and ioredis status. */
  clients: Array<{ role: ClientRole; status: string }>;
  /** Why the PING failed, when it did. */
  error?: string;
}

/** Events a manager emits. `error` is only emitted when someone listens (errors are always logged). */
export interface RedisConnectionManagerEvents {
  ready: [{ role: ClientRole }];
  reconnecting: [{ role: ClientRole; delayMs: number }];
  error: [{ role: ClientRole; error: Error }];
  health: [{ role: ClientRole; ok: boolean; latencyMs: number | null; reconnectForced: boolean; error?: Error }];
}

export interface DisconnectOptions {
  /**
   * Bound on the whole call: a polite QUIT gets all of it but the last ~110 ms, which close the
   * remaining sockets hard. Values under 110 ms act as 110 ms. @defaultValue 5_000
   */
  timeoutMs?: number;
}

/**
 * Owns every Redis client the SDK uses: one shared general-purpose client, one shared client
 * for BullMQ (producers), and every duplicate BullMQ makes of it for workers. Health-checks
 * them all and closes them all.
 */
export class RedisConnectionManager extends EventEmitter<RedisConnectionManagerEvents> implements AsyncDisposable {
  /** Namespace for every key the SDK writes (not an ioredis keyPrefix). */
  readonly keyPrefix: string;
  private readonly cfg: ResolvedRedisConfig;
  private readonly tracked = new Set<TrackedClient>();
  private readonly monitor: HealthMonitor;
  private general: RedisClient | undefined;
  private bullmq: RedisClient | undefined;
  private currentState: ManagerState = 'idle';
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private evictionPolicy: string | null = null;
  private internalsChecked = false;
  /** Masks the configured passwords in any text from ioredis or Node that the manager passes on. */
  private readonly redact: (text: string) => string;

  /** `config` is validated here (`CONFIG_INVALID` lists every problem), unless it came out of `resolveRedisOptions`. */
  constructor(config: RedisConfig | ResolvedRedisConfig = {}) {
    super();
    this.cfg = isResolvedRedisConfig(config) ? config : resolveRedisConfig(config);
    this.keyPrefix = this.cfg.keyPrefix;
    const t = this.cfg.target;
    this.redact = secretRedactor([t.password, t.kind === 'sentinel' ? t.sentinelPassword : undefined]);
    this.monitor = new HealthMonitor({
      intervalMs: this.cfg.healthCheckIntervalMs,
      timeoutMs: this.cfg.healthCheckTimeoutMs,
      blockingGraceMs: this.cfg.healthCheckBlockingGraceMs,
      clients: () => this.tracked,
      onResult: (t, r) => this.onHealth(t, r),
    });
  }

  get state(): ManagerState {
    return this.currentState;
  }

  /** Where this manager connects, with any password masked. */
  get target(): string {
    return this.cfg.target.display;
  }

  /** Resolves when both shared clients are ready; rejects with `REDIS_UNREACHABLE` within `connectTimeoutMs`. */
  connect(): Promise<void> {
    if (this.currentState === 'closing' || this.currentState === 'closed') {
      return Promise.reject(
        new NotConnectedError(
          '@lota/redis-connection: connect() was called after disconnect(); a manager is not reusable, create a new one with createRedisConnectionManager().',
        ),
      );
    }
    this.connecting ??= this.doConnect();
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    this.currentState = 'connecting';
    const general = this.adopt(createClient(this.cfg, 'general'), 'general');
    const bullmq = this.adopt(createClient(this.cfg, 'bullmq'), 'bullmq');
    let lastError: Error | undefined;
    const remember = (err: Error): void => {
      lastError = err;
    };
    general.on('error', remember);
    bullmq.on('error', remember);
    try {
      await withDeadline(
        Promise.all([general.connect(), bullmq.connect()]),
        this.cfg.connectTimeoutMs,
        () => new Error(`no ready connection within ${this.cfg.connectTimeoutMs} ms`),
      );
    } catch (err) {
      general.disconnect();
      bullmq.disconnect();
      // A client waiting to reconnect does not end on disconnect(): end it and reject what it
      // holds (the handshake of a connection that closed before it was ready), or their
      // commandTimeout timers would keep the process alive after connect() rejected.
      finishDisconnect(general, connectionClosedError());
      finishDisconnect(bullmq, connectionClosedError());
      this.untrackAll();
      this.connecting = undefined;
      if (this.currentState !== 'connecting') {
        throw new NotConnectedError('@lota/redis-connection: disconnect() was called while connect() was in progress.');
      }
      this.currentState = 'idle';
      const cause = scrubError(lastError ?? (err as Error), this.redact);
      throw new RedisUnreachableError(
        `@lota/redis-connection: cannot connect to ${this.cfg.target.display} (${cause.message}). ` +
          `Check that Redis is running and that url, credentials and TLS settings are right, or raise connectTimeoutMs (now ${this.cfg.connectTimeoutMs} ms).`,
        { cause },
      );
    } finally {
      general.off('error', remember);
      bullmq.off('error', remember);
    }
    this.general = general;
    this.bullmq = bullmq;
    this.currentState = 'ready';
    await this.checkEvictionPolicy();
    this.monitor.start();
    this.cfg.logger.info({ target: this.cfg.target.display }, 'redis connected');
  }

  /** The shared general-purpose client (finite retries, command deadline). Throws `NOT_CONNECTED` unless connected. */
  getConnection(): RedisClient {
    return this.require('getConnection', this.general);
  }

  /** The shared BullMQ client (`maxRetriesPerRequest: null`). Its duplicates (workers' blocking connections) are owned by this manager too. */
  getConnectionForBullMQ(): RedisClient {
    return this.require('getConnectionForBullMQ', this.bullmq);
  }

  private require(method: string, client: RedisClient | undefined): RedisClient {
    if (this.currentState === 'ready' && client) return client;
    if (this.currentState === 'closing' || this.currentState === 'closed') {
      throw new NotConnectedError(
        `@lota/redis-connection: ${method}() was called after disconnect(); this manager is closed, create a new one with createRedisConnectionManager() and await connect().`,
      );
    }
    throw new NotConnectedError(
      `@lota/redis-connection: ${method}() was called before connect() resolved; call \`await manager.connect()\` first.`,
    );
  }

  /** PINGs the general client and reports every client's state. Never throws. */
  async health(): Promise<RedisHealth> {
    const clients = [...this.tracked].map((t) => ({ role: t.role, status: t.client.status }));
    const base = { evictionPolicy: this.evictionPolicy, connections: this.tracked.size, clients };
    if (this.currentState !== 'ready' || !this.general) {
      const status = this.currentState === 'closed' || this.currentState === 'closing' ? 'closed' : 'idle';
      return { status, latencyMs: null, ...base };
    }
    if (this.general.status !== 'ready') {
      // Not connected: a PING would only wait in ioredis' offline queue. Say so at once.
      return { status: 'down', latencyMs: null, ...base, error: `the general client is ${this.general.status}` };
    }
    const started = performance.now();
    try {
      const general = this.general;
      await withDeadline(
        isCluster(general) ? (general as Cluster).ping() : (general as Redis).ping(),
        this.cfg.healthCheckTimeoutMs,
        () => new Error(`PING got no reply within ${this.cfg.healthCheckTimeoutMs} ms`),
      );
      const latencyMs = performance.now() - started;
      const allReady = clients.every((c) => c.status === 'ready');
      return { status: allReady ? 'ready' : 'degraded', latencyMs, ...base };
    } catch (err) {
      return { status: 'down', latencyMs: null, ...base, error: scrubError(err as Error, this.redact).message };
    }
  }

  /** Runs one health-check round now instead of waiting for the interval. */
  checkHealthNow(): Promise<void> {
    return this.monitor.checkAll();
  }

  /**
   * Closes every client this manager made, duplicates included: a polite QUIT for up to
   * `timeoutMs` minus ~110 ms, then the sockets are closed hard, and every command still pending
   * (including those ioredis keeps to re-send after a reconnect) is rejected with
   * `Connection is closed.`. Resolves within `max(timeoutMs, 110 ms)` even when Redis is unreachable (killed,
   * paused, never reached) and even when nothing else holds the event loop: the timers it waits
   * on keep the process alive while it runs, so `await manager.disconnect()` at the top level of
   * an ES module always settles and the code after it runs. Once it resolved, no socket or timer
   * of this manager is left, so the process can exit. Idempotent: later calls return the first
   * call's promise (and its bound).
   */
  disconnect(opts: DisconnectOptions = {}): Promise<void> {
    if (this.currentState === 'closed') return Promise.resolve();
    this.closing ??= this.doDisconnect(opts.timeoutMs ?? 5_000);
    return this.closing;
  }

  private async doDisconnect(timeoutMs: number): Promise<void> {
    this.currentState = 'closing';
    this.monitor.stop();
    const clients = [...this.tracked].map((t) => t.client);
    const live = clients.filter((c) => c.status === 'ready');
    // A live client ends after its QUIT reply and socket close; a reconnecting one never emits 'end',
    // disconnect() below just cancels its retry timer.
    const ended = live.map((c) => new Promise<void>((resolve) => c.once('end', () => resolve())));
    for (const c of live) c.quit().catch(() => undefined);
    // Keep room for the hard close below so the whole call stays within timeoutMs. The wait holds
    // the event loop (see deadline.ts) and its timer is cleared as soon as every client ended.
    await settleWithin(Promise.all(ended), timeoutMs - HARD_CLOSE_WAIT_MS);
    const open = clients.filter((c) => c.status !== 'end');
    for (const c of open) c.disconnect();
    // A reconnecting client does not end on disconnect(): end it, and reject every command still
    // pending, as ioredis does when a client ends, including those its own flushQueue() misses
    // (kept for resend after a reconnect; see pending-commands.ts). Otherwise a worker's BZPOPMIN
    // or a producer's add would stay pending forever, and a command with a commandTimeout would
    // keep the process alive after this call resolved.
    let rejected = 0;
    let strays = 0;
    for (const c of clients) {
      rejected += finishDisconnect(c, connectionClosedError());
      // A Cluster's node clients its pool lost track of: Cluster#disconnect() does not reach them.
      strays += closeStrayNodes(c);
    }
    if (rejected > 0 || strays > 0) this.cfg.logger.debug({ target: this.cfg.target.display, rejected, strays }, 'redis disconnect rejected pending commands');
    // ioredis destroys a socket that did not close HARD_CLOSE_MS after disconnect(); wait for that
    // timer so no handle of ours outlives this call.
    if (open.length > 0 || strays > 0) await sleep(HARD_CLOSE_WAIT_MS);
    this.untrackAll();
    this.general = undefined;
    this.bullmq = undefined;
    this.currentState = 'closed';
    this.cfg.logger.info({ target: this.cfg.target.display }, 'redis disconnected');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }

  /** Tracks a client: events, logging, health checks, closing; and makes its duplicates tracked too. */
  private adopt<C extends RedisClient>(client: C, role: ClientRole): C {
    const tracked: TrackedClient = { client, role, blocking: role === 'bullmq-duplicate', checking: false, failing: false };
    this.tracked.add(tracked);
    // Node clients a Cluster's pool lost while they were open are closed with it (see cluster-nodes.ts).
    trackClusterNodes(client);
    guardPendingCommands(client);
    this.warnOnMissingInternals(client);
    const duplicateRole: ClientRole = role === 'bullmq' || role === 'bullmq-duplicate' ? 'bullmq-duplicate' : 'general-duplicate';
    const originalDuplicate = client.duplicate.bind(client) as (...args: unknown[]) => RedisClient;
    (client as { duplicate: unknown }).duplicate = (...args: unknown[]): RedisClient => this.adopt(originalDuplicate(...args), duplicateRole);
    // A Cluster's connect() must settle even when ioredis drops its promise mid-failover: BullMQ
    // awaits it to reset a worker's blocking connection (see settled-connect.ts).
    settleConnect(client);
    // Once the manager is closing, no client of ours may (re)connect: not ioredis' own reconnect
    // timer, and not a library (a still-running BullMQ worker) calling connect() on a closed client.
    const originalConnect: () => Promise<void> = client.connect.bind(client);
    (client as { connect: unknown }).connect = (): Promise<void> => {
      if (this.currentState === 'closing' || this.currentState === 'closed') {
        return Promise.reject(
          new NotConnectedError(
            '@lota/redis-connection: this client belongs to a manager that was disconnected; close workers and queues before disconnect(), or create a new manager.',
          ),
        );
      }
      // BullMQ ends a worker's blocking connection and connects the same client again (on pause(),
      // and when its watchdog abandons a stuck BZPOPMIN): the 'end' below untracked it, and it must
      // be health-checked and closed by disconnect() again.
      if (this.currentState === 'ready' || this.currentState === 'connecting') this.tracked.add(tracked);
      return originalConnect();
    };
    const log = this.cfg.logger;
    client.on('ready', () => {
      if (tracked.failing) log.info({ role, target: this.cfg.target.display }, 'redis connection restored');
      tracked.failing = false;
      this.emit('ready', { role });
    });
    client.on('reconnecting', (delayMs: unknown) => {
      const fields = { role, target: this.cfg.target.display, delayMs };
      if (tracked.failing) log.debug(fields, 'redis reconnecting');
      else log.warn(fields, 'redis connection lost; ioredis is reconnecting');
      tracked.failing = true;
      this.emit('reconnecting', { role, delayMs: typeof delayMs === 'number' ? delayMs : 0 });
    });
    client.on('error', (error: Error) => {
      // First listener on every client we make: later ones (BullMQ's, the host's, our own
      // connect()) see the error without the AUTH arguments ioredis attached to it.
      scrubError(error, this.redact);
      guardStream(client);
      const fields = { role, target: this.cfg.target.display, error: error.message };
      if (tracked.failing) log.debug(fields, 'redis connection error (repeat)');
      else log.warn(fields, 'redis connection error; ioredis is reconnecting');
      tracked.failing = true;
      if (this.listenerCount('error') > 0) this.emit('error', { role, error });
    });
    client.on('end', () => {
      // Duplicates closed by their owner (a worker's close()) leave the pool, with nothing pending:
      // ioredis' 'end' rejects only what its flushQueue() reaches. One connected again (BullMQ
      // resets its blocking connection this way) rejoins the pool in connect() above.
      if (role.endsWith('duplicate')) {
        this.tracked.delete(tracked);
        rejectPendingCommands(client, connectionClosedError());
        closeStrayNodes(client);
        return;
      }
      // A shared client must never end while the manager is up (ioredis can end one after a
      // failed reconnect path): bring it back, or every producer and worker would fail for good.
      if (this.currentState === 'ready') {
        log.error({ role, target: this.cfg.target.display }, 'redis client ended unexpectedly; reconnecting it');
        setTimeout(() => {
          if (this.currentState === 'ready' && client.status === 'end') client.connect().catch(() => undefined);
        }, 100).unref();
      }
    });
    return client;
  }

  /** Once per manager: an ioredis release without the internals pending-commands.ts reads. */
  private warnOnMissingInternals(client: RedisClient): void {
    if (this.internalsChecked) return;
    this.internalsChecked = true;
    const missing = missingIoredisInternals(client);
    if (missing.length === 0) return;
    this.cfg.logger.warn(
      { missing },
      '@lota/redis-connection: this ioredis release lacks internals the manager reads to reject commands ioredis keeps for resend ' +
        `(${missing.join(', ')}); disconnect() still closes every connection, but such commands may keep their commandTimeout timers ` +
        'until they fire. Use an ioredis version this package supports (see its peerDependencies).',
    );
  }

  private untrackAll(): void {
    this.tracked.clear();
  }

  private onHealth(tracked: TrackedClient, result: HealthResult): void {
    if (result.error) scrubError(result.error, this.redact);
    if (!result.ok) {
      const fields = { role: tracked.role, target: this.cfg.target.display, error: result.error?.message };
      if (result.reconnectForced) this.cfg.logger.warn(fields, 'redis health check failed; forcing a reconnect');
      else this.cfg.logger.debug(fields, 'redis health check failed on a client that is already reconnecting or closing');
    }
    const event: RedisConnectionManagerEvents['health'][0] = {
      role: tracked.role,
      ok: result.ok,
      latencyMs: result.latencyMs,
      reconnectForced: result.reconnectForced,
    };
    if (result.error) event.error = result.error;
    this.emit('health', event);
  }

  private async checkEvictionPolicy(): Promise<void> {
    const general = this.general;
    if (!general) return;
    try {
      const target = isCluster(general) ? (general as Cluster).nodes('master')[0] : (general as Redis);
      if (!target) return;
      const reply = (await target.config('GET', 'maxmemory-policy')) as string[];
      this.evictionPolicy = reply[1] ?? null;
    } catch (err) {
      // Managed services often disable or rename CONFIG; that is not an error.
      this.cfg.logger.debug({ error: scrubError(err as Error, this.redact).message }, 'could not read maxmemory-policy (CONFIG is disabled here)');
      return;
    }
    if (this.evictionPolicy && this.evictionPolicy !== 'noeviction' && this.cfg.warnOnEviction) {
      this.cfg.logger.warn(
        { evictionPolicy: this.evictionPolicy, target: this.cfg.target.display },
        `redis maxmemory-policy is '${this.evictionPolicy}', not 'noeviction': under memory pressure Redis may evict BullMQ job keys ` +
          'and lock keys, losing jobs and breaking mutual exclusion. Set maxmemory-policy to noeviction on this server and keep the ' +
          'embedding cache on a separate Redis, or pass warnOnEviction: false if this Redis only holds cache data.',
      );
    }
  }
}

/**
 * Creates a manager; nothing connects until `connect()`. Throws `CONFIG_INVALID` naming the field.
 * A config that came out of `resolveRedisOptions` is taken as it is (no second parse):
 * that is how `@lota/runtime` hands on the section it validated.
 */
export function createRedisConnectionManager(config: RedisConfig | ResolvedRedisConfig = {}): RedisConnectionManager {
  return new RedisConnectionManager(config);
}
