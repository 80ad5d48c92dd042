export { createRedisLock, RedisLock } from './redis-lock.js';
export type { RedisLockOptions, LockSettings, ResolvedLockOptions, OptionIssue, OptionsResult } from './options.js';
export { resolveLockOptions, DEFAULTS as LOCK_DEFAULTS } from './options.js';
export { createOrgMemoryLock } from './org-memory-lock.js';
export type { OrgMemoryLock } from './org-memory-lock.js';
export type { LockAdapter, LockContext, LockOptions } from './types.js';
export type { Logger } from '@lota/shared';
export {
  LotaError,
  ConfigError,
  InvalidArgumentError,
  LockTimeoutError,
  LockLostError,
  RedisUnreachableError,
  LockClosedError,
} from './errors.js';
export type { LockErrorCode } from './errors.js';
