import { InvalidArgumentError } from './errors.js';
import type { LockAdapter, LockContext, LockOptions } from './types.js';

/** The SDK's two memory locks, over any {@link LockAdapter}. */
export interface OrgMemoryLock {
  /** One holder per organization at a time, across processes; different orgs never wait on each other. */
  withOrgMemoryLock<T>(orgId: string, fn: (ctx: LockContext) => Promise<T>, opts?: LockOptions): Promise<T>;
  /** The same contract per workspace. */
  withWorkspaceMemoryLock<T>(workspaceId: string, fn: (ctx: LockContext) => Promise<T>, opts?: LockOptions): Promise<T>;
}

function requireId(method: string, name: string, id: unknown): string {
  if (typeof id !== 'string' || id.trim() === '') {
    throw new InvalidArgumentError(`@lota/org-lock: ${method}() ${name} must be a non-empty string, got ${id === '' ? 'an empty string' : typeof id}.`);
  }
  return id;
}

/**
 * Routes the memory locks through `adapter`: the Redis lock from `createRedisLock`, or a host's
 * own (anything with `withLock`). Scopes are `org:<orgId>` and `workspace:<workspaceId>`, so the
 * two kinds never share a lock.
 */
export function createOrgMemoryLock(adapter: LockAdapter): OrgMemoryLock {
  if (typeof (adapter as Partial<LockAdapter> | undefined)?.withLock !== 'function') {
    throw new InvalidArgumentError('@lota/org-lock: createOrgMemoryLock() needs an adapter with a withLock(scope, fn, opts) method.');
  }
  return {
    async withOrgMemoryLock(orgId, fn, opts) {
      return adapter.withLock(`org:${requireId('withOrgMemoryLock', 'orgId', orgId)}`, fn, opts);
    },
    async withWorkspaceMemoryLock(workspaceId, fn, opts) {
      return adapter.withLock(`workspace:${requireId('withWorkspaceMemoryLock', 'workspaceId', workspaceId)}`, fn, opts);
    },
  };
}
