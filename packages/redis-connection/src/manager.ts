import { connectionClosedError, withDeadline } from '@lota/shared';
import { EventEmitter } from 'node:events';
import { createClient, type RedisClient } from './client-factory.js';
import { ClientPool } from './client-pool.js';
import { NotConnectedError, RedisUnreachableError } from './errors.js';
import { readEvictionPolicy } from './eviction-policy.js';
import { healthReport, type RedisHealth } from './health-report.js';
import { HealthMonitor, type HealthResult } from './health-monitor.js';
import type { ManagerState, RedisConnectionManagerEvents } from './manager-events.js';
import { isResolvedRedisConfig, resolveRedisConfig, type RedisConfig, type ResolvedRedisConfig } from './options.js';
import { finishDisconnect } from './pending-commands.js';
import { secretRedactor } from './redact.js';
import { scrubError } from './scrub-error.js';
import { closeClients, type DisconnectOptions } from './shutdown.js';
import type { TrackedClient } from './tracked-client.js';

/**
 * Owns every Redis client the SDK uses: one shared general-purpose client, one shared client
 * for BullMQ (producers), and every duplicate BullMQ makes of it for workers. Health-checks
 * them all and closes them all.
 */
export class RedisConnectionManager extends EventEmitter<RedisConnectionManagerEvents> implements AsyncDisposable {
  /** Namespace for every key the SDK writes (not an ioredis keyPrefix). */
  readonly keyPrefix: string;
  private readonly cfg: ResolvedRedisConfig;
  private readonly pool: ClientPool;
  private readonly monitor: HealthMonitor;
  private general: RedisClient | undefined;
  private bullmq: RedisClient | undefined;
  private currentState: ManagerState = 'idle';
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private evictionPolicy: string | null = null;
  /** Masks the configured passwords in any text from ioredis or Node that the manager passes on. */
  private readonly redact: (text: string) => string;

  /** `config` is validated here (`CONFIG_INVALID` lists every problem), unless it came out of `resolveRedisOptions`. */
  constructor(config: RedisConfig | ResolvedRedisConfig = {}) {
    super();
    this.cfg = isResolvedRedisConfig(config) ? config : resolveRedisConfig(config);
    this.keyPrefix = this.cfg.keyPrefix;
    const t = this.cfg.target;
    this.redact = secretRedactor([t.password, t.kind === 'sentinel' ? t.sentinelPassword : undefined]);
    this.pool = new ClientPool({ cfg: this.cfg, redact: this.redact, state: () => this.currentState, events: this });
    this.monitor = new HealthMonitor({
      intervalMs: this.cfg.healthCheckIntervalMs,
      timeoutMs: this.cfg.healthCheckTimeoutMs,
      blockingGraceMs: this.cfg.healthCheckBlockingGraceMs,
      clients: () => this.pool.tracked,
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
    const general = this.pool.adopt(createClient(this.cfg, 'general'), 'general');
    const bullmq = this.pool.adopt(createClient(this.cfg, 'bullmq'), 'bullmq');
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
      this.pool.untrackAll();
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
    this.evictionPolicy = await readEvictionPolicy(general, this.cfg, this.redact);
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
  health(): Promise<RedisHealth> {
    return healthReport({
      state: this.currentState,
      general: this.general,
      tracked: this.pool.tracked,
      evictionPolicy: this.evictionPolicy,
      timeoutMs: this.cfg.healthCheckTimeoutMs,
      redact: this.redact,
    });
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
    await closeClients([...this.pool.tracked].map((t) => t.client), timeoutMs, this.cfg.logger, this.cfg.target.display);
    this.pool.untrackAll();
    this.general = undefined;
    this.bullmq = undefined;
    this.currentState = 'closed';
    this.cfg.logger.info({ target: this.cfg.target.display }, 'redis disconnected');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
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
}

/**
 * Creates a manager; nothing connects until `connect()`. Throws `CONFIG_INVALID` naming the field.
 * A config that came out of `resolveRedisOptions` is taken as it is (no second parse):
 * that is how `@lota/runtime` hands on the section it validated.
 */
export function createRedisConnectionManager(config: RedisConfig | ResolvedRedisConfig = {}): RedisConnectionManager {
  return new RedisConnectionManager(config);
}
