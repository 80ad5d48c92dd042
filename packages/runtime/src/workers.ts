import type { JobPayload, Processor, RegisterWorkerOptions } from '@lota/queues';
import { isOptionsObject, joinPath as join, type OptionIssue } from '@lota/shared';
import type { ParsedRuntimeConfig } from './schema.js';

/** A worker to register at `connect()`, as `registerWorker` takes it. */
export type ResolvedWorker = RegisterWorkerOptions;

/**
 * One worker per queue: a second one (in `workers` and `extraWorkers`, or twice in `extraWorkers`)
 * would start a second BullMQ Worker on the same queue and silently double its concurrency.
 */
export function duplicateWorkers(raw: Record<string, unknown>, path: string): OptionIssue[] {
  const issues: OptionIssue[] = [];
  const firstPath = new Map<string, string>();
  const workers = raw.workers;
  if (isOptionsObject(workers)) {
    for (const [queue, w] of Object.entries(workers)) if (w !== undefined) firstPath.set(queue, join(path, 'workers', queue));
  }
  const extra = Array.isArray(raw.extraWorkers) ? (raw.extraWorkers as unknown[]) : [];
  extra.forEach((w, i) => {
    const queue = isOptionsObject(w) ? w.queue : undefined;
    if (typeof queue !== 'string' || queue === '') return;
    const at = join(path, 'extraWorkers', String(i), 'queue');
    const first = firstPath.get(queue);
    if (first === undefined) {
      firstPath.set(queue, at);
      return;
    }
    issues.push({
      path: at,
      message: `queue '${queue}' already has a worker (${first}); one worker per queue: remove one of them and set the concurrency you want on the other (two workers would double the queue's concurrency)`,
    });
  });
  return issues;
}

/** `workers` then `extraWorkers`, as `registerWorker` takes them. */
export function workerList(config: ParsedRuntimeConfig): ResolvedWorker[] {
  const list: ResolvedWorker[] = [];
  const add = (queue: string, w: { processor: Processor<JobPayload>; concurrency?: number | undefined; workerOptions?: Record<string, unknown> | undefined }): void => {
    list.push({
      queue,
      processor: w.processor,
      ...(w.concurrency === undefined ? {} : { concurrency: w.concurrency }),
      ...(w.workerOptions === undefined ? {} : { workerOptions: w.workerOptions }),
    });
  };
  for (const [queue, w] of Object.entries(config.workers ?? {})) if (w) add(queue, w);
  for (const w of config.extraWorkers ?? []) add(w.queue, w);
  return list;
}
