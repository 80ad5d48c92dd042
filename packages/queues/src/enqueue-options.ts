import { encodeKeyParts } from './dedupe-key.js';
import { InvalidArgumentError } from './errors.js';
import type { JobPayload } from './job-data.js';
import type { EnqueueBulkOptions, EnqueueOptions } from './public-types.js';

/** One call's enqueue options, checked: the dedupe key encoded, the rest as given. */
export interface ParsedEnqueueOptions {
  dedupeId?: string | undefined;
  debounceMs?: number | undefined;
  maxWaitMs?: number | undefined;
  delayMs?: number | undefined;
  jobId?: string | undefined;
  keepLastIfActive?: boolean;
  waitForReplicas?: number | undefined;
}

/** Validates the generic enqueue options; dedupe key parts are encoded so tuples cannot collide. */
export function parseEnqueueOptions(queue: string, opts: unknown): ParsedEnqueueOptions {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') options must be an object ({ dedupeKey?, debounceMs?, maxWaitMs?, delayMs?, jobId?, waitForReplicas? }) or left out.`);
  }
  const { dedupeKey, debounceMs, maxWaitMs, delayMs, jobId, waitForReplicas } = opts as EnqueueOptions;
  let dedupeId: string | undefined;
  if (dedupeKey !== undefined) {
    const parts = typeof dedupeKey === 'string' ? [dedupeKey] : dedupeKey;
    if (parts.length === 0 || parts.some((p) => typeof p !== 'string' || p === '')) {
      throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') dedupeKey must be a non-empty string or array of non-empty strings.`);
    }
    dedupeId = encodeKeyParts(parts);
  }
  if (debounceMs !== undefined) {
    if (!Number.isInteger(debounceMs) || debounceMs < 0) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') debounceMs must be a whole number >= 0.`);
    if (dedupeId === undefined) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') debounceMs needs a dedupeKey: it says which calls collapse into one.`);
  }
  if (maxWaitMs !== undefined && maxWaitMs !== 0) {
    if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') maxWaitMs must be a whole number >= 0.`);
    if (debounceMs === undefined) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') maxWaitMs bounds a debounce: it needs debounceMs (and a dedupeKey).`);
    if (maxWaitMs < debounceMs) throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') maxWaitMs (${maxWaitMs}) must be at least debounceMs (${debounceMs}), or 0 for no maximum.`);
  }
  if (delayMs !== undefined && (!Number.isInteger(delayMs) || delayMs < 0)) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') delayMs must be a whole number >= 0.`);
  }
  if (delayMs !== undefined && debounceMs !== undefined) {
    throw new InvalidArgumentError(
      `@lota/queues: enqueue('${queue}') takes delayMs or debounceMs, not both: a debounced job runs debounceMs after the last call. Drop delayMs, or drop debounceMs for a plain delayed job.`,
    );
  }
  if (jobId !== undefined && (typeof jobId !== 'string' || jobId === '' || /^\d+$/.test(jobId) || jobId.includes(':'))) {
    throw new InvalidArgumentError(`@lota/queues: enqueue('${queue}') jobId must be a non-empty string, not all digits, without ':'.`);
  }
  return { dedupeId, debounceMs, maxWaitMs: maxWaitMs === 0 ? undefined : maxWaitMs, delayMs, jobId, waitForReplicas: parseWaitForReplicas(`enqueue('${queue}')`, waitForReplicas) };
}

function parseWaitForReplicas(call: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`@lota/queues: ${call} waitForReplicas must be a whole number >= 0 (replicas WAIT must confirm; 0 turns it off).`);
  }
  return value;
}

/** The batch options of `enqueueBulk`: its `waitForReplicas`, if given. */
export function parseBulkOptions(queue: string, opts: EnqueueBulkOptions): number | undefined {
  const given: unknown = opts;
  if (typeof given !== 'object' || given === null) throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') options must be an object ({ waitForReplicas? }) or left out.`);
  return parseWaitForReplicas(`enqueueBulk('${queue}')`, opts.waitForReplicas);
}

/** Item `i` of an `enqueueBulk` batch, its shape checked; its options are parsed like `enqueue`'s. */
export function bulkItem(queue: string, item: unknown, i: number): { data: JobPayload; itemOpts: unknown } {
  if (typeof item !== 'object' || item === null) {
    throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') item ${i} must be an object { data, opts? }.`);
  }
  const { data, opts: itemOpts = {} } = item as { data: JobPayload; opts?: unknown };
  if (typeof itemOpts === 'object' && itemOpts !== null && ((itemOpts as EnqueueOptions).debounceMs !== undefined || (itemOpts as EnqueueOptions).maxWaitMs !== undefined)) {
    throw new InvalidArgumentError(`@lota/queues: enqueueBulk('${queue}') item ${i}: debounceMs and maxWaitMs are not supported in bulk; use enqueue().`);
  }
  if (typeof itemOpts === 'object' && itemOpts !== null && (itemOpts as EnqueueOptions).waitForReplicas !== undefined) {
    throw new InvalidArgumentError(
      `@lota/queues: enqueueBulk('${queue}') item ${i}: waitForReplicas applies to the whole batch (one WAIT after it); pass it as enqueueBulk(queue, items, { waitForReplicas }).`,
    );
  }
  return { data, itemOpts };
}
