import { describe, expect, it } from 'vitest';
import type { HostRedis } from '../src/keys.js';
import { assertRedisReady, describeFailure } from '../src/routes/errors.js';

/** An error as Lota's packages throw them: a class of their own, told apart by `code`. */
const lotaError = (code: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(`${code} happened`), { code, ...extra });

describe('route error mapping', () => {
  it('a job the queues refused is the client’s 400, naming the field', () => {
    expect(describeFailure(lotaError('JOB_INVALID', { field: 'text' }))).toEqual({ status: 400, body: { error: 'invalid_turn', field: 'text', message: 'JOB_INVALID happened' } });
  });

  it.for(['REDIS_UNREACHABLE', 'ENQUEUE_TIMEOUT', 'NOT_CONNECTED', 'QUEUES_CLOSED'])('%s is a 503 the client may retry, with the job id when the enqueue may have landed', (code) => {
    expect(describeFailure(lotaError(code, { jobId: 'j1' }))).toEqual({ status: 503, body: { error: 'redis_unavailable', code, message: `${code} happened`, jobId: 'j1' } });
  });

  it("ioredis' own failures while the connection is down are 503 too; anything else is a 500", () => {
    expect(describeFailure(new Error('Connection is closed.')).status).toBe(503);
    expect(describeFailure(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' })).status).toBe(503);
    expect(describeFailure(new TypeError('boom'))).toEqual({ status: 500, body: { error: 'internal', message: 'boom' } });
  });

  it('a request fails fast with REDIS_UNREACHABLE while the connection is not ready', () => {
    const redis = (status: string) => ({ status }) as unknown as HostRedis;
    expect(() => assertRedisReady(redis('ready'))).not.toThrow();
    let thrown: unknown;
    try {
      assertRedisReady(redis('reconnecting'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'REDIS_UNREACHABLE', message: expect.stringContaining('connection reconnecting') });
    expect(describeFailure(thrown).status).toBe(503);
  });
});
