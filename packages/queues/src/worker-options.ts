import { collectOptions, isWholeIn, joinPath, QUEUE_NAME, QUEUE_NAME_RULE, type OptionIssue, type OptionsResult } from '@lota/shared';
import type { JobPayload } from './job-data.js';
import type { RegisterWorkerOptions } from './public-types.js';

/**
 * Most jobs one worker runs at once. Each active job holds a lock renewed by a timer and, for
 * most processors, an open model call; past a few thousand the event loop, not Redis, limits
 * throughput, and a typo (50_000) would only show as memory pressure.
 */
export const MAX_CONCURRENCY = 10_000;

/** What a check says about a concurrency outside 1..{@link MAX_CONCURRENCY}, or `undefined`. */
export function concurrencyProblem(value: unknown): string | undefined {
  if (typeof value !== 'number') return `must be a number: a whole number from 1 to ${MAX_CONCURRENCY}`;
  return isWholeIn(value, 1, MAX_CONCURRENCY) ? undefined : `must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${String(value)}`;
}

const KNOWN: readonly string[] = ['queue', 'processor', 'concurrency', 'workerOptions'];

/**
 * Validates what `registerWorker` takes (`{ queue, processor, concurrency?, workerOptions? }`)
 * without throwing: the options as given, or every problem by dot path under `path`. Whether the
 * queue is known is a question for the instance (`registerWorker` answers it). `@lota/runtime`
 * checks its `workers` and `extraWorkers` with this at `createLotaRuntime()`, so a value
 * `registerWorker` would refuse is refused at creation, under the runtime's path.
 */
export function resolveWorkerOptions<T extends JobPayload = JobPayload>(input: unknown, path = ''): OptionsResult<RegisterWorkerOptions<T>> {
  const { options: o, issues, check } = collectOptions(input, path, KNOWN);
  check('queue', typeof o.queue === 'string' && QUEUE_NAME.test(o.queue) ? undefined : QUEUE_NAME_RULE);
  check('processor', typeof o.processor === 'function' ? undefined : 'must be a function (the job processor)');
  if (o.concurrency !== undefined) check('concurrency', concurrencyProblem(o.concurrency));
  const wo = o.workerOptions;
  if (wo !== undefined && (typeof wo !== 'object' || wo === null || Array.isArray(wo))) check('workerOptions', 'must be an object of BullMQ worker options');
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: o as unknown as RegisterWorkerOptions<T> };
}

/** `registerWorker`'s own message for the first problem: `@lota/queues: registerWorker('q') concurrency must be ...`. */
export function workerOptionsMessage(queue: unknown, issue: OptionIssue): string {
  return `@lota/queues: registerWorker('${String(queue)}') ${joinPath(issue.path)} ${issue.message}.`;
}
