import { createRedisLock, InvalidArgumentError as LockInvalidArgumentError } from '@lota/org-lock';
import { ConfigError as QueuesConfigError, createQueues, JobValidationError } from '@lota/queues';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError, LotaError, NotConnectedError, RedisUnreachableError } from '../src/index.js';

/**
 * Each published package bundles its own copy of the shared error classes (and ships an ESM and
 * a CJS build). These tests take errors made by the built packages (their own copies) and check
 * them against the runtime's classes (another copy): one code, one class, whoever threw it.
 */
describe('one class per error code, across the packages', () => {
  it('a CONFIG_INVALID thrown by @lota/queues is the ConfigError of @lota/runtime, and no other class', () => {
    let err: unknown;
    try {
      createQueues({ connection: {} as never });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueuesConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(LotaError);
    expect(err).not.toBeInstanceOf(NotConnectedError);
    expect(err).not.toBeInstanceOf(RedisUnreachableError);
    expect(err).toMatchObject({ name: 'ConfigError', code: 'CONFIG_INVALID', issues: [{ path: 'connection' }] });
  });

  it('errors of @lota/org-lock match the runtime classes by code', () => {
    expect(() => createRedisLock({ clients: [] })).toThrow(ConfigError);
    const arg = new LockInvalidArgumentError('x');
    expect(arg).toBeInstanceOf(InvalidArgumentError);
    expect(arg).not.toBeInstanceOf(ConfigError);
    const down = new RedisUnreachableError('down', { scope: 'org:a' });
    expect(down.scope).toBe('org:a');
    expect(down.jobId).toBeUndefined();
  });

  it('a package-specific class is matched by its own code only', () => {
    const job = new JobValidationError('q', 'orgId', 'is missing');
    expect(job).toBeInstanceOf(LotaError);
    expect(job).not.toBeInstanceOf(ConfigError);
    expect(new ConfigError('@lota/runtime', [])).not.toBeInstanceOf(JobValidationError);
  });

  it('only Lota errors are Lota errors, and a subclass without a code of its own matches only its instances', () => {
    expect(new Error('plain')).not.toBeInstanceOf(LotaError);
    expect({ code: 'CONFIG_INVALID', name: 'ConfigError' }).not.toBeInstanceOf(ConfigError);
    expect(null).not.toBeInstanceOf(LotaError);
    class HostError extends LotaError<'HOST'> {}
    expect(new ConfigError('@lota/runtime', [])).not.toBeInstanceOf(HostError);
    expect(new HostError('HOST', 'x')).toBeInstanceOf(HostError);
    expect(new HostError('HOST', 'x')).toBeInstanceOf(LotaError);
  });
});
