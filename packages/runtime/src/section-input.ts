import { isOptionsObject, type OptionsResult } from '@lota/shared';

/** `input` with `extra` under it, when `input` is an object (anything else goes to the resolver as it is, to be refused). */
export const withDefaults = (extra: Record<string, unknown>, input: unknown): unknown => (input === undefined ? extra : isOptionsObject(input) ? { ...extra, ...input } : input);
/** `{ key: value }` for the keys whose value is given: the packages' defaults apply to the rest. */
export const given = (entries: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));

/** The package's issues at the runtime's names for its options (`renames`: package path -> runtime path). */
export function renamed<T>(result: OptionsResult<T>, renames: Readonly<Record<string, string>>): OptionsResult<T> {
  if (result.ok) return result;
  return { ok: false, issues: result.issues.map((i) => ({ path: renames[i.path] ?? i.path, message: i.message })) };
}
