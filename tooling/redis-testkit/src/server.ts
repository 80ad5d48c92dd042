import type { TlsMaterial } from './tls.js';

/** Where a test server runs. */
export type Backend = 'binary' | 'container' | 'external';

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** Turn on AOF persistence, so data survives `kill()` + `restart()`. @defaultValue false */
  appendOnly?: boolean;
  /** AOF fsync policy when `appendOnly` is on. @defaultValue 'everysec' */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** `maxmemory`, e.g. `'2mb'`. @defaultValue unlimited */
  maxmemory?: string;
  /** `maxmemory-policy`. @defaultValue 'noeviction' */
  maxmemoryPolicy?: string;
  /** `requirepass` for the default user. */
  password?: string;
  /** ACL users to create (`user <name> on ><password> <rules>`); rules default to full access. */
  users?: Array<{ name: string; password: string; rules?: string }>;
  /** Serve TLS only (no plain port); certificates are generated for this server. @defaultValue false */
  tls?: boolean;
  /** Extra config directives, e.g. `{ 'notify-keyspace-events': 'Kx', 'rename-command': ['CONFIG', ''] }`. */
  config?: Record<string, string | number | Array<string | number>>;
  /** Force a backend instead of the automatic choice. */
  backend?: Backend;
}

/** A Redis server a test owns. `await using server = await startRedis()` stops it at scope end. */
export interface RedisServer extends AsyncDisposable {
  /** `redis://` (or `rediss://`) URL with the default user's password, if one was set. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly backend: Backend;
  /** True when this process can kill, pause and restart the server (not for REDIS_URL). */
  readonly controllable: boolean;
  /** The server's data dir (binary backend). */
  readonly dir: string | undefined;
  /** PID of the running process (binary backend), `undefined` while stopped. */
  readonly pid: number | undefined;
  /** TLS material when started with `tls: true`. */
  readonly tls: TlsMaterial | undefined;
  /** `true` between a successful start/restart and stop/kill. */
  readonly running: boolean;
  /** `true` between `pause()` and `resume()`. */
  readonly paused: boolean;
  /** Graceful shutdown (SIGTERM), waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown, no final fsync. Waits for the process to be gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the kernel still accepts TCP connections, but nothing answers (half-open). */
  pause(): Promise<void>;
  /** SIGCONT after `pause()`. */
  resume(): Promise<void>;
  /** Starts the server again on the same port with the same data dir (stopping it first if needed). */
  restart(): Promise<void>;
  /** Stops the server and removes its data dir. Idempotent. */
  dispose(): Promise<void>;
}
