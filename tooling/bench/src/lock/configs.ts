/**
 * The locks the `lock` suite compares, each behind one small interface so the same contender
 * loop drives all of them, in the suite's process and in its child processes.
 *
 * Every config locks the same logical resource with the same TTL (30 s) through the caller's one
 * ioredis client. Peers run twice: with their default settings, and with their most aggressive
 * retry settings (smallest delay they allow, never giving up).
 */
import { Redlock as SesameRedlock } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import RedlockV4 from 'redlock-v4';
import RedlockV5 from 'redlock-v5';

export const TTL_MS = 30_000;
/** The scope every contender wants (ours), and the key the peers lock. */
export const SCOPE = 'org:acme';
const PEER_KEY = `lock:${SCOPE}`;

/** One lock library, configured, bound to one client. */
export interface Locker {
  /**
   * Acquires the shared resource, runs `section`, releases. Throws if the lock could not be
   * acquired (a timeout or a give-up), in which case `section` did not run.
   */
  withLock(section: () => Promise<void>): Promise<void>;
  /** Frees what the library opened itself (never the caller's client). */
  close(): Promise<void>;
}

export interface LockConfig {
  /** Unique, e.g. 'redlock-v5 default'. */
  id: string;
  /** The package, e.g. 'redlock@5.0.0-beta.2'. */
  library: string;
  /** The settings in words, for the peer table. */
  settings: string;
  ours: boolean;
  create(client: Redis): Promise<Locker>;
}

// ---------------------------------------------------------------- ours

interface OrgLockApi {
  withLock<T>(scope: string, fn: (ctx: { signal: AbortSignal; fencingToken: number }) => Promise<T>, options?: { acquireTimeoutMs?: number; ttlMs?: number }): Promise<T>;
  close(): Promise<void>;
}
type CreateRedisLock = (options: { clients: Redis | Redis[]; prefix?: string; ttlMs?: number; acquireTimeoutMs?: number; autoExtend?: boolean }) => OrgLockApi;

let oursLoaded: Promise<CreateRedisLock | Error> | undefined;

/** `createRedisLock` from @lota/org-lock, or why it cannot be loaded (not built yet, say). */
export function loadOurs(): Promise<CreateRedisLock | Error> {
  oursLoaded ??= import('@lota/org-lock').then(
    (mod): CreateRedisLock | Error => {
      const create: CreateRedisLock = mod.createRedisLock;
      return create;
    },
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  return oursLoaded;
}

const ours: LockConfig = {
  id: 'ours',
  library: '@lota/org-lock',
  settings: 'defaults (ttlMs 30 s, acquireTimeoutMs 60 s, autoExtend)',
  ours: true,
  async create(client) {
    const create = await loadOurs();
    if (create instanceof Error) throw create;
    const lock = create({ clients: client, ttlMs: TTL_MS });
    return {
      withLock: (section) => lock.withLock(SCOPE, () => section()),
      close: () => lock.close(),
    };
  },
};

// ---------------------------------------------------------------- peers

interface RedlockSettings {
  retryCount: number;
  retryDelay: number;
  retryJitter: number;
}

/** What redlock 4, 5 and the sesamecare fork default to (identical in all three). */
const REDLOCK_DEFAULTS: RedlockSettings = { retryCount: 10, retryDelay: 200, retryJitter: 100 };
/** Retry forever (-1), every 0-2 ms: as fast as setTimeout polling goes. */
const REDLOCK_AGGRESSIVE: RedlockSettings = { retryCount: -1, retryDelay: 1, retryJitter: 1 };

const describeRedlock = (s: RedlockSettings, isDefault: boolean): string =>
  `${isDefault ? 'defaults: ' : ''}retryCount ${s.retryCount === -1 ? '-1 (forever)' : s.retryCount}, retryDelay ${s.retryDelay} ms ± ${s.retryJitter} ms`;

/** One held lock of a redlock-family library: how to give it back. */
type Release = () => PromiseLike<unknown>;

/**
 * The three redlock-family peers differ only in their constructor and lock/unlock method names:
 * `acquire(settings)` builds the library's client (with its defaults when `settings` is undefined)
 * and returns how to take the key, which resolves to how to release it.
 */
function redlockFamily(
  name: string,
  library: string,
  isDefault: boolean,
  acquire: (client: Redis, settings: RedlockSettings | undefined) => () => Promise<Release>,
): LockConfig {
  const settings = isDefault ? REDLOCK_DEFAULTS : REDLOCK_AGGRESSIVE;
  return {
    id: `${name} ${isDefault ? 'default' : 'aggressive'}`,
    library,
    settings: describeRedlock(settings, isDefault),
    ours: false,
    create(client) {
      const take = acquire(client, isDefault ? undefined : settings);
      return Promise.resolve({
        async withLock(section) {
          const release = await take();
          try {
            await section();
          } finally {
            await release();
          }
        },
        close: () => Promise.resolve(),
      });
    },
  };
}

const redlockV4 = (isDefault: boolean): LockConfig =>
  redlockFamily('redlock-v4', 'redlock@4.2.0', isDefault, (client, settings) => {
    const redlock = settings ? new RedlockV4([client], settings) : new RedlockV4([client]);
    return async () => {
      const lock = await redlock.lock(PEER_KEY, TTL_MS);
      return () => lock.unlock();
    };
  });

const redlockV5 = (isDefault: boolean): LockConfig =>
  redlockFamily('redlock-v5', 'redlock@5.0.0-beta.2', isDefault, (client, settings) => {
    const redlock = settings ? new RedlockV5([client], settings) : new RedlockV5([client]);
    return async () => {
      const lock = await redlock.acquire([PEER_KEY], TTL_MS);
      return () => lock.release();
    };
  });

const sesame = (isDefault: boolean): LockConfig =>
  redlockFamily('sesamecare-redlock', '@sesamecare-oss/redlock@1.4.0', isDefault, (client, settings) => {
    const redlock = settings ? new SesameRedlock([client], settings) : new SesameRedlock([client]);
    return async () => {
      const lock = await redlock.acquire([PEER_KEY], TTL_MS);
      return () => lock.release();
    };
  });

function semaphore(isDefault: boolean): LockConfig {
  // Defaults: retryInterval 10 ms, acquireTimeout 10 s. Aggressive: poll every 1 ms, effectively never time out.
  const options = isDefault ? { lockTimeout: TTL_MS } : { lockTimeout: TTL_MS, retryInterval: 1, acquireTimeout: 600_000 };
  return {
    id: `redis-semaphore ${isDefault ? 'default' : 'aggressive'}`,
    library: 'redis-semaphore@5.8.0 (Mutex)',
    settings: isDefault ? 'defaults: retryInterval 10 ms, acquireTimeout 10 s' : 'retryInterval 1 ms, acquireTimeout 600 s',
    ours: false,
    create(client) {
      return Promise.resolve({
        async withLock(section) {
          // One Mutex per acquisition, as in the README (each holder has its own identifier).
          const mutex = new Mutex(client, SCOPE, options);
          await mutex.acquire();
          try {
            await section();
          } finally {
            await mutex.release();
          }
        },
        close: () => Promise.resolve(),
      });
    },
  };
}

/** Ours first, then each peer: default, aggressive. */
export const CONFIGS: readonly LockConfig[] = [
  ours,
  redlockV4(true),
  redlockV4(false),
  redlockV5(true),
  redlockV5(false),
  sesame(true),
  sesame(false),
  semaphore(true),
  semaphore(false),
];

export function configById(id: string): LockConfig {
  const config = CONFIGS.find((c) => c.id === id);
  if (!config) throw new Error(`unknown lock config '${id}'`);
  return config;
}
