import { resolveWorkerOptions, type RegisterWorkerOptions } from '@lota/queues';
import { isOptionsObject, joinPath as join, type OptionIssue } from '@lota/shared';

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

/**
 * `workers` then `extraWorkers`, as `registerWorker` takes them, each checked by @lota/queues'
 * own rules (`resolveWorkerOptions`) under the runtime's path: a worker `registerWorker` would
 * refuse at `connect()` is refused at creation.
 */
export function resolveWorkers(raw: Record<string, unknown>, path: string): { workers: ResolvedWorker[]; issues: OptionIssue[] } {
  const workers: ResolvedWorker[] = [];
  const issues: OptionIssue[] = [];
  const add = (input: unknown, at: string): void => {
    const result = resolveWorkerOptions(input, at);
    if (result.ok) workers.push(result.value);
    else issues.push(...result.issues);
  };
  if (isOptionsObject(raw.workers)) {
    for (const [queue, w] of Object.entries(raw.workers)) if (isOptionsObject(w)) add({ queue, ...w }, join(path, 'workers', queue));
  }
  if (Array.isArray(raw.extraWorkers)) (raw.extraWorkers as unknown[]).forEach((w, i) => isOptionsObject(w) && add(w, join(path, 'extraWorkers', String(i))));
  return { workers, issues };
}
