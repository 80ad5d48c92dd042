/**
 * Rules for the names that end up inside Redis keys, shared by every package that builds keys.
 */

/**
 * A key prefix: not empty, no whitespace (it would split a command line in `redis-cli` and in
 * logs), no braces (a brace in a prefix would become a Cluster hash tag and move keys to
 * another slot than the one their own tag names).
 */
export const KEY_PREFIX = /^[^\s{}]+$/;

/** What an option check says about a prefix that breaks {@link KEY_PREFIX}. */
export const KEY_PREFIX_RULE = 'must be a non-empty string without spaces or braces (braces are reserved for Cluster hash tags)';

/** {@link KEY_PREFIX_RULE} when `value` is not a valid key prefix, else `undefined`. */
export function keyPrefixProblem(value: unknown): string | undefined {
  return typeof value === 'string' && KEY_PREFIX.test(value) ? undefined : KEY_PREFIX_RULE;
}

/**
 * A queue name: letters, digits, `.`, `_`, `-`, up to 100 characters, starting with a letter or
 * digit. No `:` (BullMQ's key separator) and no braces (hash tags are added by the package).
 */
export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What a check says about a name that breaks {@link QUEUE_NAME}. */
export const QUEUE_NAME_RULE = 'queue names are 1 to 100 letters, digits, . _ - starting with a letter or digit (no ":" or braces)';
