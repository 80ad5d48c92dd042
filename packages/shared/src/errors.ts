import { errorClass } from './lota-error.js';
import { formatIssues, type OptionIssue } from './option-issues.js';

/**
 * The errors several packages throw, one class per code. Each package re-exports the ones it
 * throws; a package's own codes stay in its `errors.ts`.
 */

/** Options or config are wrong; `issues` lists every problem by dot path. Nothing was created. */
export class ConfigError extends errorClass('CONFIG_INVALID', 'ConfigError') {
  readonly issues: readonly OptionIssue[];

  /** `source` is the package (`@lota/queues`) or call (`@lota/queues: createQueues()`) the issues belong to. */
  constructor(source: string, issues: readonly OptionIssue[]) {
    super(`${source}: invalid options:\n${formatIssues(issues)}`);
    this.issues = issues;
  }
}

/** A call argument is wrong (an empty scope, texts that are not strings, an unknown queue). Thrown before any Redis call. */
export class InvalidArgumentError extends errorClass('INVALID_ARGUMENT', 'InvalidArgumentError') {}

/**
 * Redis did not answer in time, or the connection is not ready (down, reconnecting, closed).
 * `scope` is set by `@lota/org-lock` (the lock that was not acquired; `fn` did not run),
 * `jobId` by `@lota/queues` when the add was sent (a retry with it cannot create a duplicate).
 */
export class RedisUnreachableError extends errorClass('REDIS_UNREACHABLE', 'RedisUnreachableError') {
  readonly scope: string | undefined;
  readonly jobId: string | undefined;
  constructor(message: string, options?: { cause?: unknown; scope?: string; jobId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.scope = options?.scope;
    this.jobId = options?.jobId;
  }
}

/** A getter or part was used before `connect()` resolved, or after `disconnect()`. */
export class NotConnectedError extends errorClass('NOT_CONNECTED', 'NotConnectedError') {}
