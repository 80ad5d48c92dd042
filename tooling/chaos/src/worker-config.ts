/** The environment variable that carries a worker's {@link WorkerConfig} (JSON). */
export const WORKER_CONFIG_ENV = 'LOTA_CHAOS_WORKER';

/** Where the queue/lock Redis is (the runtime's `redis` config without the password). */
export type RedisTarget = { url: string } | { cluster: { nodes: string[] } } | { sentinel: { sentinels: string[]; name: string } };

/** Everything a worker process needs; the driver writes it, the worker reads it once. */
export interface WorkerConfig {
  /** Its name in the history (`proc`). */
  name: string;
  /** The queue/lock Redis as the worker reaches it: a URL (directly, or through the fault proxy), a Cluster or a Sentinel group. */
  redis: RedisTarget;
  /** The password of that Redis: given as an option, never in the URL, and never to be printed. */
  password: string;
  /** The fenced store's Redis (not faulted: it stands for the resource the lock protects). */
  storeUrl: string;
  /** Namespace of this schedule's keys on both servers. */
  keyPrefix: string;
  /** Workspace ids whose lock the worker's lock loop contends on (holders and waiters). */
  lockScopes: string[];
  /** Lock loops per scope in this worker (0: no lock loop). */
  lockLoops: number;
  lockTtlMs: number;
  acquireTimeoutMs: number;
  /** BullMQ job lock and stalled-check period. */
  jobLockMs: number;
  stalledIntervalMs: number;
  digestDebounceMs: number;
  connectTimeoutMs: number;
  disconnectTimeoutMs: number;
  /** Repo indexing: chunks per job and the time each takes. */
  chunks: number;
  chunkMs: number;
  concurrency: number;
  embeddingDimensions: number;
  /** Self-check of the detectors: sections run WITHOUT the lock (the campaign must find overlaps). */
  unsafeNoLock: boolean;
}

/** The vector the campaign's provider returns for `text` (what every cached vector must equal, in float32). */
export function expectedVector(text: string, dims: number): number[] {
  const out: number[] = [];
  let h = 2_166_136_261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619) >>> 0;
  for (let i = 0; i < dims; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    out.push((h / 4_294_967_296) * 2 - 1);
  }
  return out;
}
