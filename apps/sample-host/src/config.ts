/** Everything the host reads from its environment, parsed once, with defaults for local use. */
export interface HostConfig {
  /** The Redis for queues, locks, the cache and the host's own data. */
  redisUrl: string;
  /** Namespace of every key: the runtime's (`<prefix>:...`) and the host's (`<prefix>:host:...`). */
  keyPrefix: string;
  /** HTTP listen address of the API process. */
  host: string;
  port: number;
  /** Debounce window of the memory digest per (org, workstream). */
  digestDebounceMs: number;
  /** Memory-extraction jobs one worker process runs at once. */
  extractionConcurrency: number;
  /** Memory-digest jobs one worker process runs at once. */
  digestConcurrency: number;
  /** Simulated model time of one extraction (an LLM call in a real host), before the lock. */
  extractionDelayMs: number;
  /** Simulated latency of one embedding-provider call. */
  embeddingLatencyMs: number;
  /** Vector size of the local embedding provider. */
  embeddingDimensions: number;
  /** Budget of a graceful shutdown: active jobs finish within it. */
  shutdownTimeoutMs: number;
  /** Lease of the org memory lock (extended while held). */
  lockTtlMs: number;
  /** How long a job waits for its org's lock before it fails (and is retried). */
  lockAcquireTimeoutMs: number;
  /** Lowest level logged: debug, info, warn or error. */
  logLevel: LogLevel;
  /** Name of this worker in heartbeats and logs. */
  workerName: string;
  /** Shut down gracefully when stdin closes (set by a parent process such as the demo). */
  exitWithParent: boolean;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A setting that cannot be used; names the variable. */
export class HostConfigError extends Error {
  override readonly name = 'HostConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new HostConfigError(`${name} must be a whole number >= ${min}, got '${raw}'.`);
  return value;
}

function level(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === '') return 'info';
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  throw new HostConfigError(`LOG_LEVEL must be debug, info, warn or error, got '${raw}'.`);
}

/** Reads the host's settings from `env` (process.env by default); throws `HostConfigError` naming a bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HostConfig {
  const keyPrefix = env.LOTA_KEY_PREFIX ?? 'lota';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(keyPrefix)) throw new HostConfigError(`LOTA_KEY_PREFIX must be 1-64 letters, digits, . _ -, got '${keyPrefix}'.`);
  return {
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix,
    host: env.HOST ?? '127.0.0.1',
    port: int(env, 'PORT', 3000, 0),
    digestDebounceMs: int(env, 'DIGEST_DEBOUNCE_MS', 2_000, 0),
    extractionConcurrency: int(env, 'EXTRACTION_CONCURRENCY', 4, 1),
    digestConcurrency: int(env, 'DIGEST_CONCURRENCY', 2, 1),
    extractionDelayMs: int(env, 'EXTRACTION_DELAY_MS', 0, 0),
    embeddingLatencyMs: int(env, 'EMBEDDING_LATENCY_MS', 20, 0),
    embeddingDimensions: int(env, 'EMBEDDING_DIMENSIONS', 64, 1),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100),
    lockTtlMs: int(env, 'LOCK_TTL_MS', 30_000, 10),
    lockAcquireTimeoutMs: int(env, 'LOCK_ACQUIRE_TIMEOUT_MS', 60_000, 0),
    logLevel: level(env.LOG_LEVEL),
    workerName: env.WORKER_NAME ?? `worker-${process.pid}`,
    exitWithParent: env.LOTA_EXIT_WITH_PARENT === '1',
  };
}
