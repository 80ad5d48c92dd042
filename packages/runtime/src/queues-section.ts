import { resolveQueuesOptions, type ResolvedQueuesOptions } from '@lota/queues';
import type { Logger } from '@lota/redis-connection';
import { isOptionsObject, joinPath as join, type OptionsResult } from '@lota/shared';
import { given } from './section-input.js';

/**
 * The `queues` section for @lota/queues' resolver: the host queues of `extraWorkers` are declared
 * (an empty policy each), and a problem with such a declared name is reported at the worker.
 */
export function resolveQueuesSection(
  raw: Record<string, unknown>,
  extra: ReadonlyArray<{ queue: string }>,
  keyPrefix: string | undefined,
  logger: Logger | undefined,
  path: string,
): OptionsResult<ResolvedQueuesOptions> {
  // Not an object: the runtime's schema reports it; the queues get their defaults.
  const section = isOptionsObject(raw.queues) ? raw.queues : {};
  const declaredBy = new Map<string, number>();
  let policies = section.policies;
  if (policies === undefined || isOptionsObject(policies)) {
    const merged: Record<string, unknown> = { ...policies };
    extra.forEach((w, i) => {
      if (w.queue === '' || Object.hasOwn(merged, w.queue)) return;
      merged[w.queue] = {};
      declaredBy.set(w.queue, i);
    });
    policies = merged;
  }
  const input = { ...given({ prefix: keyPrefix, logger }), ...given({ ...section, policies }) };
  const result = resolveQueuesOptions(input, join(path, 'queues'));
  if (result.ok || declaredBy.size === 0) return result;
  const policiesPath = join(path, 'queues', 'policies');
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      for (const [queue, i] of declaredBy) {
        if (issue.path === `${policiesPath}.${queue}` || issue.path.startsWith(`${policiesPath}.${queue}.`)) {
          return { path: join(path, 'extraWorkers', String(i), 'queue'), message: issue.message };
        }
      }
      return issue;
    }),
  };
}
