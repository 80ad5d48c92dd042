import type { Cluster, Redis } from 'ioredis';
import { InvalidArgumentError, LockConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { stderrLogger } from './logger.js';

/** Options of {@link createRedisLock}. */
export interface RedisLockOptions {
  /**
   * One client (a single Redis, or a Cluster: a scope's keys share a slot), or several
   * independent masters: then every acquisition needs a majority of them (Redlock).
   * Use general-purpose clients (finite retries), not BullMQ's.
   */
  clients: Redis | Cluster | readonly Redis[];
  /** Lock keys live under `<prefix>:lock:`. @defaultValue 'lota' */
  prefix?: string;
  /** Lease length; a crashed holder's lock frees itself after this. @defaultValue 30_000 */
  ttlMs?: number;
  /** How long `withLock` waits before `LockTimeoutError`. @defaultValue 60_000 */
  acquireTimeoutMs?: number;
  /** Extend the lease every `ttlMs / 3` while `fn` runs. @defaultValue true */
  autoExtend?: boolean;
  /** Bound on each Redis call (acquire, extend, release). @defaultValue 2_000 (at most ttlMs / 3) */
  requestTimeoutMs?: number;
  /** Serve waiters first-come-first-served across processes (single master or Cluster). @defaultValue true */
  fair?: boolean;
  /** pino-compatible logger. @defaultValue warnings and errors to stderr */
  logger?: Logger;
}

export interface ResolvedLockOptions {
  clients: Array<Redis | Cluster>;
  prefix: string;
  ttlMs: number;
  acquireTimeoutMs: number;
  autoExtend: boolean;
  requestTimeoutMs: number;
  fair: boolean;
  logger: Logger;
}

function isClient(v: unknown): v is Redis | Cluster {
  return typeof v === 'object' && v !== null && typeof (v as { defineCommand?: unknown }).defineCommand === 'function' && 'status' in v;
}

/** Shortest lease accepted: it must outlive a round trip and the clock-drift margin. */
export const MIN_TTL_MS = 10;
/**
 * Longest lease or wait accepted: Node's timers hold at most 2^31-1 ms (about 24.8 days) and fire
 * after 1 ms when asked for more, which would extend a lease every millisecond or time a wait
 * out at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

export function checkTtl(where: string, ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TIMER_MS) {
    throw new InvalidArgumentError(
      `@lota/org-lock: ${where}ttlMs must be a whole number of milliseconds from ${MIN_TTL_MS} to ${MAX_TIMER_MS}, got ${String(ttlMs)}.`,
    );
  }
  return ttlMs;
}

export function checkTimeout(where: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_TIMER_MS) {
    throw new InvalidArgumentError(
      `@lota/org-lock: ${where}acquireTimeoutMs must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${String(ms)}.`,
    );
  }
  return ms;
}

const KNOWN = new Set(['clients', 'prefix', 'ttlMs', 'acquireTimeoutMs', 'autoExtend', 'requestTimeoutMs', 'fair', 'logger']);

/** Validates `createRedisLock` options; every problem names the option and the fix. */
export function resolveLockOptions(input: unknown): ResolvedLockOptions {
  if (typeof input !== 'object' || input === null) throw new LockConfigError('@lota/org-lock: createRedisLock() needs an options object with clients.');
  const o = input as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new LockConfigError(`@lota/org-lock: unknown option(s) ${unknown.join(', ')}; known: ${[...KNOWN].join(', ')}.`);
  const raw = o.clients;
  const clients = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (clients.length === 0 || !clients.every(isClient)) {
    throw new LockConfigError('@lota/org-lock: clients must be an ioredis Redis or Cluster instance, or a non-empty array of Redis instances (independent masters).');
  }
  if (clients.length > 1 && clients.some((c) => (c as { isCluster?: boolean }).isCluster)) {
    throw new LockConfigError('@lota/org-lock: clients: a Cluster must be passed alone (its scope keys share a slot); an array is for independent masters.');
  }
  const prefix = o.prefix ?? 'lota';
  if (typeof prefix !== 'string' || !/^[^\s{}]+$/.test(prefix)) throw new LockConfigError('@lota/org-lock: prefix must be a non-empty string without spaces or braces.');
  let ttlMs: number;
  let acquireTimeoutMs: number;
  try {
    ttlMs = checkTtl('', o.ttlMs ?? 30_000);
    acquireTimeoutMs = checkTimeout('', o.acquireTimeoutMs ?? 60_000);
  } catch (err) {
    throw new LockConfigError((err as Error).message);
  }
  const autoExtend = o.autoExtend ?? true;
  if (typeof autoExtend !== 'boolean') throw new LockConfigError('@lota/org-lock: autoExtend must be true or false.');
  const fair = o.fair ?? true;
  if (typeof fair !== 'boolean') throw new LockConfigError('@lota/org-lock: fair must be true or false.');
  const requested = o.requestTimeoutMs ?? 2_000;
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1 || requested > MAX_TIMER_MS) {
    throw new LockConfigError(`@lota/org-lock: requestTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}.`);
  }
  const logger = (o.logger ?? stderrLogger) as Logger;
  if (!['debug', 'info', 'warn', 'error'].every((k) => typeof (logger as unknown as Record<string, unknown>)[k] === 'function')) {
    throw new LockConfigError('@lota/org-lock: logger must have debug, info, warn and error functions.');
  }
  return {
    clients: clients,
    prefix,
    ttlMs,
    acquireTimeoutMs,
    autoExtend,
    requestTimeoutMs: Math.max(1, Math.min(requested, Math.floor(ttlMs / 3))),
    fair,
    logger,
  };
}
