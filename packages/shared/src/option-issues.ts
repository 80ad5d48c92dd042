import type { z } from 'zod';

/** One problem with options: its dot path (from the caller's root) and what to do. */
export interface OptionIssue {
  path: string;
  message: string;
}

/** What a resolver returns: the resolved options, or every problem by dot path. Never thrown. */
export type OptionsResult<T> = { ok: true; value: T } | { ok: false; issues: OptionIssue[] };

/** The message of an option nobody knows. */
export const UNKNOWN_OPTION = 'unknown option; remove it or check its spelling';

/** `joinPath('queues', 'policies', 'x')` → `queues.policies.x`; empty parts are skipped. */
export function joinPath(...parts: ReadonlyArray<PropertyKey>): string {
  return parts
    .map(String)
    .filter((p) => p !== '')
    .join('.');
}

/** Issues as the indented list a `CONFIG_INVALID` message shows, one per line. */
export function formatIssues(issues: readonly OptionIssue[]): string {
  return issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n');
}

/**
 * zod's issues by dot path under `prefix`: each unknown key is its own issue, with what to do;
 * a bad record key (a queue name) says what is wrong with the key.
 */
export function zodIssues(error: z.ZodError, prefix: string): OptionIssue[] {
  return error.issues.flatMap((issue): OptionIssue[] => {
    const at = joinPath(prefix, ...issue.path);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: joinPath(at, key), message: UNKNOWN_OPTION }));
    if (issue.code === 'invalid_key') return [{ path: at, message: issue.issues.map((i) => i.message).join('; ') }];
    return [{ path: at, message: issue.message }];
  });
}
