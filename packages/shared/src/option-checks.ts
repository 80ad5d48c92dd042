import { joinPath, UNKNOWN_OPTION, type OptionIssue } from './option-issues.js';

/**
 * Hand-written option checks for the packages that validate without a schema library (the lock
 * and the cache install with nothing but ioredis): each problem is collected by dot path under
 * `path`, so a resolver reports every bad option at once.
 */
interface IssueCollector {
  readonly issues: OptionIssue[];
  /** Records `problem` for `key` when there is one. */
  readonly check: (key: string, problem: string | undefined) => void;
  /** Records every key of `input` that is not in `known`, naming the known ones. */
  readonly unknownKeys: (input: Record<string, unknown>, known: readonly string[]) => void;
}

/** Starts {@link collectIssues} on `input` with its unknown keys checked; not an object is one issue at `path`. */
export function collectOptions(input: unknown, path: string, known: readonly string[]): IssueCollector & { readonly options: Record<string, unknown> } {
  const collector = collectIssues(path);
  const given = input ?? {};
  if (!isOptionsObject(given)) {
    collector.issues.push({ path, message: 'must be an options object' });
    return { ...collector, options: {} };
  }
  collector.unknownKeys(given, known);
  return { ...collector, options: given };
}

function collectIssues(path: string): IssueCollector {
  const issues: OptionIssue[] = [];
  const check = (key: string, problem: string | undefined): void => {
    if (problem !== undefined) issues.push({ path: joinPath(path, key), message: problem });
  };
  return {
    issues,
    check,
    unknownKeys: (input, known) => {
      for (const key of Object.keys(input)) if (!known.includes(key)) check(key, `${UNKNOWN_OPTION} (known: ${known.join(', ')})`);
    },
  };
}

/** Whether `value` is a whole number from `min` to `max`. */
export function isWholeIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Whether `value` can hold options: an object that is not an array. */
export function isOptionsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Remembers the values a resolver made, so that a factory taking resolved options accepts them
 * as they are (no second parse) and refuses a look-alike object that skipped validation.
 */
export class ResolvedMarks<T extends object> {
  readonly #made = new WeakSet<object>();

  /** Marks `value` as made by the resolver and returns it. */
  mark(value: T): T {
    this.#made.add(value);
    return value;
  }

  /** Whether `value` was made by the resolver. */
  has(value: unknown): value is T {
    return typeof value === 'object' && value !== null && this.#made.has(value);
  }
}
