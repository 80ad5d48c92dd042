/** The queues the SDK itself uses. */
export const BUILT_IN_QUEUES = ['memory-extraction', 'context-compaction', 'repo-indexing', 'memory-digest'] as const;
export type BuiltInQueue = (typeof BUILT_IN_QUEUES)[number];

/** How one queue behaves. "Max retries N" means N re-runs after the first failure (BullMQ attempts = N + 1). */
export interface QueuePolicy {
  /** Re-runs after the first failure. */
  maxRetries: number;
  /** Base of the exponential backoff: re-run k waits `backoffDelayMs * 2^(k-1)`. */
  backoffDelayMs: number;
  /** Jobs one worker runs at once, unless `registerWorker` says otherwise. */
  concurrency: number;
  /** Debounce window for `scheduleMemoryDigest` / `enqueue(..., { debounceMs })` defaults. */
  debounceMs: number;
  /**
   * Debounce with a maximum wait: a debounced job runs at the latest this long after the first
   * call of its burst, even while calls keep coming less than `debounceMs` apart (it then runs
   * with the latest data, and the next call starts a new burst). 0: no maximum, the job waits
   * for a pause of `debounceMs`. At least `debounceMs` when set.
   * @defaultValue 0 (3_600_000 for `memory-digest`)
   */
  maxWaitMs: number;
  /**
   * How long a worker's lock on a running job lasts (BullMQ `lockDuration`). BullMQ renews it
   * every `lockDurationMs / 4` while the processor leaves the event loop free. It bounds the
   * longest synchronous stretch a processor may have (longer, and the job may be taken by
   * another worker: the processor's signal is then aborted), and how soon the job of a dead
   * worker is recovered (lock expiry plus up to two stalled checks).
   * @defaultValue 30_000 (60_000 for `repo-indexing`)
   */
  lockDurationMs: number;
  /**
   * Recoveries after a worker death or a lost lock before the job fails for good (BullMQ
   * `maxStalledCount`). A stall does not use up a retry. Defaults to the queue's `maxRetries`,
   * so a job survives as many worker deaths as errors, and a job that kills every worker it
   * runs on still fails after `maxRetries + 1` deaths.
   * @defaultValue the queue's `maxRetries`
   */
  maxStalledCount: number;
  /**
   * Durable enqueue: an enqueue to this queue resolves only once `WAIT` has confirmed that at
   * least this many replicas received the job; fewer within `waitForReplicasTimeoutMs` rejects
   * with `EnqueueNotReplicatedError` (the job is on the master; a retry with the same jobId or
   * dedupe key is safe). Protects acknowledged jobs from a failover that promotes a replica
   * (Sentinel, Cluster); it is not strong consistency (see the README). 0 turns it off.
   * @defaultValue 0
   */
  waitForReplicas: number;
  /**
   * How long the `WAIT` of a durable enqueue may block before the call gives up with
   * `EnqueueNotReplicatedError`. Must be lower than `enqueueTimeoutMs`, which still bounds the
   * whole call (add and WAIT); it is shortened to what is left of that bound when needed.
   * @defaultValue 1_000
   */
  waitForReplicasTimeoutMs: number;
}

/** Per-host overrides, keyed by queue name. A name that is not built in declares a host queue. */
export type PolicyOverrides = Partial<Record<string, Partial<QueuePolicy>>>;

/** Used for host queues and for fields a built-in does not set. */
export const DEFAULT_POLICY: Readonly<QueuePolicy> = Object.freeze({
  maxRetries: 3,
  backoffDelayMs: 1_000,
  concurrency: 1,
  debounceMs: 0,
  maxWaitMs: 0,
  // BullMQ's default: I/O-bound processors leave the event loop free, so the lock is renewed.
  lockDurationMs: 30_000,
  maxStalledCount: 3,
  // Off: WAIT costs a replica round trip per enqueue (batched) and needs replicas to exist.
  waitForReplicas: 0,
  // A healthy replica acknowledges within milliseconds; a second means it is gone or far behind,
  // and leaves most of the default 5 s enqueueTimeoutMs for the round trips around the WAIT.
  waitForReplicasTimeoutMs: 1_000,
});

/** The built-ins do not wait for replicas: durability is the host's choice (it needs replicas and costs latency). */
const NOT_DURABLE = { waitForReplicas: DEFAULT_POLICY.waitForReplicas, waitForReplicasTimeoutMs: DEFAULT_POLICY.waitForReplicasTimeoutMs };

/**
 * Built-in policies. Concurrency: extraction and digest are I/O-bound, indexing is heavy.
 * Locks: the three LLM-bound queues keep BullMQ's 30 s; repo indexing parses files in chunks
 * that can hold the event loop for seconds, so it gets 60 s (a crashed indexer's job is then
 * recovered in about 1-2 minutes, which indexing can afford).
 */
export const BUILT_IN_POLICIES: Readonly<Record<BuiltInQueue, Readonly<QueuePolicy>>> = Object.freeze({
  'memory-extraction': Object.freeze({ maxRetries: 3, backoffDelayMs: 1_000, concurrency: 5, debounceMs: 0, maxWaitMs: 0, lockDurationMs: 30_000, maxStalledCount: 3, ...NOT_DURABLE }),
  'context-compaction': Object.freeze({ maxRetries: 2, backoffDelayMs: 1_000, concurrency: 2, debounceMs: 0, maxWaitMs: 0, lockDurationMs: 30_000, maxStalledCount: 2, ...NOT_DURABLE }),
  'repo-indexing': Object.freeze({ maxRetries: 3, backoffDelayMs: 5_000, concurrency: 1, debounceMs: 0, maxWaitMs: 0, lockDurationMs: 60_000, maxStalledCount: 3, ...NOT_DURABLE }),
  // 15 minutes: a burst of turns in one workstream produces one digest, with the latest data. An
  // hour at most: a workstream that gets a turn every few minutes still gets a digest every hour.
  'memory-digest': Object.freeze({ maxRetries: 3, backoffDelayMs: 1_000, concurrency: 2, debounceMs: 15 * 60_000, maxWaitMs: 60 * 60_000, lockDurationMs: 30_000, maxStalledCount: 3, ...NOT_DURABLE }),
});

export function isBuiltInQueue(name: string): name is BuiltInQueue {
  return (BUILT_IN_QUEUES as readonly string[]).includes(name);
}

/** One queue's policy: `base` with `override` applied; `maxStalledCount` follows `maxRetries` unless set. */
function resolveOne(base: Readonly<QueuePolicy>, override: Partial<QueuePolicy> | undefined): QueuePolicy {
  const policy = { ...base, ...override };
  if (override?.maxStalledCount === undefined) policy.maxStalledCount = policy.maxRetries;
  return policy;
}

/** Built-ins with overrides applied, plus every host queue named in `overrides`. */
export function resolvePolicies(overrides: PolicyOverrides = {}): Map<string, QueuePolicy> {
  const out = new Map<string, QueuePolicy>();
  for (const name of BUILT_IN_QUEUES) out.set(name, resolveOne(BUILT_IN_POLICIES[name], overrides[name]));
  for (const [name, override] of Object.entries(overrides)) {
    if (!out.has(name)) out.set(name, resolveOne(DEFAULT_POLICY, override));
  }
  return out;
}
