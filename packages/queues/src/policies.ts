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
}

/** Per-host overrides, keyed by queue name. A name that is not built in declares a host queue. */
export type PolicyOverrides = Partial<Record<string, Partial<QueuePolicy>>>;

/** Used for host queues and for fields a built-in does not set. */
export const DEFAULT_POLICY: Readonly<QueuePolicy> = Object.freeze({
  maxRetries: 3,
  backoffDelayMs: 1_000,
  concurrency: 1,
  debounceMs: 0,
});

/** Built-in policies. Concurrency: extraction and digest are I/O-bound, indexing is heavy. */
export const BUILT_IN_POLICIES: Readonly<Record<BuiltInQueue, Readonly<QueuePolicy>>> = Object.freeze({
  'memory-extraction': Object.freeze({ maxRetries: 3, backoffDelayMs: 1_000, concurrency: 5, debounceMs: 0 }),
  'context-compaction': Object.freeze({ maxRetries: 2, backoffDelayMs: 1_000, concurrency: 2, debounceMs: 0 }),
  'repo-indexing': Object.freeze({ maxRetries: 3, backoffDelayMs: 5_000, concurrency: 1, debounceMs: 0 }),
  // 15 minutes: a burst of turns in one workstream produces one digest, with the latest data.
  'memory-digest': Object.freeze({ maxRetries: 3, backoffDelayMs: 1_000, concurrency: 2, debounceMs: 15 * 60_000 }),
});

export function isBuiltInQueue(name: string): name is BuiltInQueue {
  return (BUILT_IN_QUEUES as readonly string[]).includes(name);
}

/** Built-ins with overrides applied, plus every host queue named in `overrides`. */
export function resolvePolicies(overrides: PolicyOverrides = {}): Map<string, QueuePolicy> {
  const out = new Map<string, QueuePolicy>();
  for (const name of BUILT_IN_QUEUES) out.set(name, { ...BUILT_IN_POLICIES[name], ...overrides[name] });
  for (const [name, override] of Object.entries(overrides)) {
    if (!out.has(name)) out.set(name, { ...DEFAULT_POLICY, ...override });
  }
  return out;
}
