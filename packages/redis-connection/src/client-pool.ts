import { connectionClosedError, settleConnect } from '@lota/shared';
import type { EventEmitter } from 'node:events';
import type { ClientRole, RedisClient } from './client-factory.js';
import { closeStrayNodes, trackClusterNodes } from './cluster-nodes.js';
import { NotConnectedError } from './errors.js';
import type { ManagerState, RedisConnectionManagerEvents } from './manager-events.js';
import type { ResolvedRedisConfig } from './options.js';
import { guardPendingCommands, missingIoredisInternals, rejectPendingCommands } from './pending-commands.js';
import { scrubError } from './scrub-error.js';
import type { TrackedClient } from './tracked-client.js';

const guarded = new WeakSet<object>();

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

/** What a pool needs from the manager that owns it. */
export interface ClientPoolOwner {
  readonly cfg: ResolvedRedisConfig;
  /** Masks the configured passwords in any text from ioredis or Node that the manager passes on. */
  readonly redact: (text: string) => string;
  /** The manager's state now: no client of a closing or closed manager may (re)connect. */
  readonly state: () => ManagerState;
  /** Where the clients' events are emitted: the manager. */
  readonly events: EventEmitter<RedisConnectionManagerEvents>;
}

/**
 * Every client a manager made, duplicates included: each is tracked from its creation (events,
 * logging, health checks, closing), and every duplicate made of it joins the pool too.
 */
export class ClientPool {
  /** The clients health-checked and closed by the manager. */
  readonly tracked = new Set<TrackedClient>();
  private readonly cfg: ResolvedRedisConfig;
  private readonly redact: (text: string) => string;
  private readonly state: () => ManagerState;
  private readonly events: EventEmitter<RedisConnectionManagerEvents>;
  private internalsChecked = false;

  constructor(owner: ClientPoolOwner) {
    this.cfg = owner.cfg;
    this.redact = owner.redact;
    this.state = owner.state;
    this.events = owner.events;
  }

  /** Tracks a client: events, logging, health checks, closing; and makes its duplicates tracked too. */
  adopt<C extends RedisClient>(client: C, role: ClientRole): C {
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
    // awaits it to reset a worker's blocking connection (see `settleConnect` in @lota/shared).
    settleConnect(client);
    // Once the manager is closing, no client of ours may (re)connect: not ioredis' own reconnect
    // timer, and not a library (a still-running BullMQ worker) calling connect() on a closed client.
    const originalConnect: () => Promise<void> = client.connect.bind(client);
    (client as { connect: unknown }).connect = (): Promise<void> => {
      if (this.state() === 'closing' || this.state() === 'closed') {
        return Promise.reject(
          new NotConnectedError(
            '@lota/redis-connection: this client belongs to a manager that was disconnected; close workers and queues before disconnect(), or create a new manager.',
          ),
        );
      }
      // BullMQ ends a worker's blocking connection and connects the same client again (on pause(),
      // and when its watchdog abandons a stuck BZPOPMIN): the 'end' below untracked it, and it must
      // be health-checked and closed by disconnect() again.
      if (this.state() === 'ready' || this.state() === 'connecting') this.tracked.add(tracked);
      return originalConnect();
    };
    const log = this.cfg.logger;
    client.on('ready', () => {
      if (tracked.failing) log.info({ role, target: this.cfg.target.display }, 'redis connection restored');
      tracked.failing = false;
      this.events.emit('ready', { role });
    });
    client.on('reconnecting', (delayMs: unknown) => {
      const fields = { role, target: this.cfg.target.display, delayMs };
      if (tracked.failing) log.debug(fields, 'redis reconnecting');
      else log.warn(fields, 'redis connection lost; ioredis is reconnecting');
      tracked.failing = true;
      this.events.emit('reconnecting', { role, delayMs: typeof delayMs === 'number' ? delayMs : 0 });
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
      if (this.events.listenerCount('error') > 0) this.events.emit('error', { role, error });
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
      if (this.state() === 'ready') {
        log.error({ role, target: this.cfg.target.display }, 'redis client ended unexpectedly; reconnecting it');
        setTimeout(() => {
          if (this.state() === 'ready' && client.status === 'end') client.connect().catch(() => undefined);
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

  /** Forgets every client: they were closed, or never connected. */
  untrackAll(): void {
    this.tracked.clear();
  }
}
