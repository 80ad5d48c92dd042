import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError, RedisUnreachableError } from '../src/errors.js';
import { errorClass, LotaError } from '../src/lota-error.js';

describe('LotaError and one class per code', () => {
  it('a class of one code has a literal name, its code, a cause, and is an Error', () => {
    const cause = new Error('socket');
    const err = new RedisUnreachableError('down', { cause, scope: 'org:a' });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(LotaError);
    expect(err).toMatchObject({ name: 'RedisUnreachableError', code: 'REDIS_UNREACHABLE', message: 'down', scope: 'org:a', jobId: undefined });
    expect(err.cause).toBe(cause);
    expect(new RedisUnreachableError('down').cause).toBeUndefined();
  });

  it('ConfigError lists every issue by dot path in its message', () => {
    const err = new ConfigError('@lota/x: create()', [
      { path: 'a.b', message: 'must be a number' },
      { path: '', message: 'must be an options object' },
    ]);
    expect(err.message).toBe('@lota/x: create(): invalid options:\n  - a.b: must be a number\n  - (root): must be an options object');
    expect(err.issues).toHaveLength(2);
  });

  it('a copy of a class (another bundle) is recognised by its code, and only by it', () => {
    // What another package's bundled copy looks like: same brand, same code, another class object.
    const OtherLotaError = Object.getPrototypeOf(errorClass('CONFIG_INVALID', 'ConfigError')) as typeof LotaError;
    expect(OtherLotaError).toBe(LotaError);
    const copy = Object.create(LotaError.prototype, { code: { value: 'CONFIG_INVALID' }, name: { value: 'ConfigError' } }) as unknown;
    expect(copy).toBeInstanceOf(ConfigError);
    expect(copy).not.toBeInstanceOf(InvalidArgumentError);
    // Not branded: a plain object or Error with the same code is no Lota error.
    expect({ code: 'CONFIG_INVALID' }).not.toBeInstanceOf(ConfigError);
    expect(Object.assign(new Error('x'), { code: 'CONFIG_INVALID' })).not.toBeInstanceOf(ConfigError);
    expect(Object.assign(new Error('x'), { code: 'CONFIG_INVALID' })).not.toBeInstanceOf(LotaError);
  });

  it("a subclass of a code class keeps its base's code; a host's own LotaError subclass matches only itself", () => {
    class StrictConfigError extends ConfigError {}
    expect(new ConfigError('s', [])).toBeInstanceOf(StrictConfigError);
    class HostError extends LotaError<'HOST'> {}
    expect(new HostError('HOST', 'x')).toBeInstanceOf(HostError);
    expect(new ConfigError('s', [])).not.toBeInstanceOf(HostError);
    expect(new HostError('HOST', 'x')).not.toBeInstanceOf(ConfigError);
  });
});
