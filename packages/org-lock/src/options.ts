import type { Cluster, Redis } from 'ioredis';
import { collectOptions, createStderrLogger, isLogger, isWholeIn, keyPrefixProblem, NOT_A_LOGGER, ResolvedMarks, type Logger, type OptionIssue, type OptionsResult } from '@lota/shared';
import { ConfigError, InvalidArgumentError } from './errors.js';

/** Options of {@link createRedisLock}. Defaults: {@link DEFAULTS}. */
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

/** {@link RedisLockOptions} without the clients: what {@link resolveLockOptions} validates. */
export type LockSettings = Omit<RedisLockOptions, 'clients'>;

/** Shortest lease accepted: it must outlive a round trip and the clock-drift margin. */
export const MIN_TTL_MS = 10;
/**
 * Longest lease or wait accepted: Node's timers hold at most 2^31-1 ms (about 24.8 days) and fire
 * after 1 ms when asked for more, which would extend a lease every millisecond or time a wait
 * out at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Every default of {@link RedisLockOptions}: `createRedisLock` and `@lota/runtime` read them from
 * here, never from a literal of their own.
 */
export const DEFAULTS = Object.freeze({
  /**
   * The SDK's one namespace, the same as `@lota/redis-connection`'s `keyPrefix`.
   * @defaultValue 'lota'
   */
  prefix: 'lota',
  /**
   * A crashed holder blocks its scope for at most this; a live holder's lease is extended every
   * `ttlMs / 3`, so it only bounds the damage of a crash.
   * @defaultValue 30_000
   */
  ttlMs: 30_000,
  /**
   * Memory work per org is short: a minute of waiting means something is stuck, not busy.
   * @defaultValue 60_000
   */
  acquireTimeoutMs: 60_000,
  /**
   * `fn` may run longer than one lease; without extension the lock would lapse under it.
   * @defaultValue true
   */
  autoExtend: true,
  /**
   * Redis answers in milliseconds; 2 s means it is gone. Capped at `ttlMs / 3` so an extension
   * always lands before the lease ends.
   * @defaultValue 2_000
   */
  requestTimeoutMs: 2_000,
  /**
   * First come, first served across processes: no waiter starves behind a busy neighbour.
   * @defaultValue true
   */
  fair: true,
});

/** {@link LockSettings} validated, with every default applied. */
export interface ResolvedLockOptions {
  readonly prefix: string;
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  readonly autoExtend: boolean;
  /** At most `ttlMs / 3`. */
  readonly requestTimeoutMs: number;
  readonly fair: boolean;
  readonly logger: Logger;
}

export type { OptionIssue, OptionsResult };

function isClient(v: unknown): v is Redis | Cluster {
  return typeof v === 'object' && v !== null && typeof (v as { defineCommand?: unknown }).defineCommand === 'function' && 'status' in v;
}

const ttlProblem = (v: unknown): string | undefined =>
  isWholeIn(v, MIN_TTL_MS, MAX_TIMER_MS) ? undefined : `must be a whole number of milliseconds from ${MIN_TTL_MS} to ${MAX_TIMER_MS}, got ${String(v)}`;
const waitProblem = (v: unknown): string | undefined =>
  isWholeIn(v, 0, MAX_TIMER_MS) ? undefined : `must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${String(v)}`;

/** A per-call `ttlMs` (of `withLock`): the same rule as the option. Throws `INVALID_ARGUMENT`. */
export function checkTtl(where: string, ttlMs: unknown): number {
  const problem = ttlProblem(ttlMs);
  if (problem) throw new InvalidArgumentError(`@lota/org-lock: ${where}ttlMs ${problem}.`);
  return ttlMs as number;
}

/** A per-call `acquireTimeoutMs` (of `withLock`): the same rule as the option. Throws `INVALID_ARGUMENT`. */
export function checkTimeout(where: string, ms: unknown): number {
  const problem = waitProblem(ms);
  if (problem) throw new InvalidArgumentError(`@lota/org-lock: ${where}acquireTimeoutMs ${problem}.`);
  return ms as number;
}

/** Option names of {@link LockSettings} (the clients are checked apart). */
const KNOWN: readonly string[] = ['prefix', 'ttlMs', 'acquireTimeoutMs', 'autoExtend', 'requestTimeoutMs', 'fair', 'logger'];

/** Values made by {@link resolveLockOptions}: `createRedisLock` takes them as they are, without a second parse. */
const resolvedOptions = new ResolvedMarks<ResolvedLockOptions>();

/**
 * Validates {@link LockSettings} (everything but the clients) and applies {@link DEFAULTS}: the
 * resolved options (frozen; hand them to `createRedisLock(clients, resolved)`), or every problem
 * by dot path under `path` (e.g. `'memoryLock'` inside a runtime config). Never throws for bad input.
 */
export function resolveLockOptions(input: unknown, path = ''): OptionsResult<ResolvedLockOptions> {
  const { options: o, issues, check } = collectOptions(input, path, KNOWN);
  const prefix = o.prefix ?? DEFAULTS.prefix;
  check('prefix', keyPrefixProblem(prefix));
  const ttlMs = o.ttlMs ?? DEFAULTS.ttlMs;
  check('ttlMs', ttlProblem(ttlMs));
  const acquireTimeoutMs = o.acquireTimeoutMs ?? DEFAULTS.acquireTimeoutMs;
  check('acquireTimeoutMs', waitProblem(acquireTimeoutMs));
  const autoExtend = o.autoExtend ?? DEFAULTS.autoExtend;
  check('autoExtend', typeof autoExtend === 'boolean' ? undefined : 'must be true or false');
  const requested = o.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  check('requestTimeoutMs', isWholeIn(requested, 1, MAX_TIMER_MS) ? undefined : `must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
  const fair = o.fair ?? DEFAULTS.fair;
  check('fair', typeof fair === 'boolean' ? undefined : 'must be true or false');
  const logger = o.logger ?? createStderrLogger('lota:org-lock');
  check('logger', isLogger(logger) ? undefined : NOT_A_LOGGER);
  if (issues.length > 0) return { ok: false, issues };
  const ttl = ttlMs as number;
  const value: ResolvedLockOptions = Object.freeze({
    prefix: prefix as string,
    ttlMs: ttl,
    acquireTimeoutMs: acquireTimeoutMs as number,
    autoExtend: autoExtend as boolean,
    requestTimeoutMs: Math.max(1, Math.min(requested as number, Math.floor(ttl / 3))),
    fair: fair as boolean,
    logger: logger as Logger,
  });
  return { ok: true, value: resolvedOptions.mark(value) };
}

/** The clients of {@link RedisLockOptions}, or what is wrong with them (a sentence after the option name). */
function clientsOf(raw: unknown): Array<Redis | Cluster> | string {
  const clients = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (clients.length === 0 || !clients.every(isClient)) {
    return 'must be an ioredis Redis or Cluster instance, or a non-empty array of Redis instances (independent masters)';
  }
  if (clients.length > 1 && clients.some((c) => (c as { isCluster?: boolean }).isCluster)) {
    return 'must be a Cluster alone (its scope keys share a slot) or an array of independent masters, not both';
  }
  return clients;
}

function configError(issues: readonly OptionIssue[]): ConfigError {
  return new ConfigError('@lota/org-lock: createRedisLock()', issues);
}

/** `createRedisLock(clients, resolved)`: the clients checked; `resolved` must come out of {@link resolveLockOptions}. */
export function checkClients(raw: unknown, resolved: ResolvedLockOptions): Array<Redis | Cluster> {
  const clients = clientsOf(raw);
  if (typeof clients === 'string') throw configError([{ path: 'clients', message: clients }]);
  if (!resolvedOptions.has(resolved)) {
    throw configError([{ path: 'resolved', message: 'must be the value of resolveLockOptions(); pass plain options as createRedisLock({ clients, ...options })' }]);
  }
  return clients;
}

/**
 * `createRedisLock(options)`: the clients checked and the rest resolved by {@link resolveLockOptions};
 * throws `CONFIG_INVALID` naming every bad option and the fix.
 */
export function validateLockOptions(input: unknown): { clients: Array<Redis | Cluster>; resolved: ResolvedLockOptions } {
  if (typeof input !== 'object' || input === null) throw configError([{ path: '', message: 'must be an options object with clients' }]);
  const { clients: raw, ...settings } = input as Record<string, unknown>;
  const clients = clientsOf(raw);
  const result = resolveLockOptions(settings);
  const issues = [...(typeof clients === 'string' ? [{ path: 'clients', message: clients }] : []), ...(result.ok ? [] : result.issues)];
  if (issues.length > 0 || typeof clients === 'string' || !result.ok) throw configError(issues);
  return { clients, resolved: result.value };
}
