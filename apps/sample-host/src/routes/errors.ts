import { RedisUnreachableError } from '@lota/runtime';
import type { HostRedis } from '../keys.js';

/** What a failed request answers. */
export interface HttpFailure {
  status: number;
  body: Record<string, unknown>;
}

/** Codes of Lota's errors that mean "Redis is not there right now": retry later. */
const UNAVAILABLE = new Set(['REDIS_UNREACHABLE', 'ENQUEUE_TIMEOUT', 'NOT_CONNECTED', 'QUEUES_CLOSED']);
/** ioredis' own failures while a connection is down (they carry no Lota code). */
const IOREDIS_UNAVAILABLE = /Connection is closed|Command timed out|ECONNREFUSED|Stream isn't writeable/i;

/**
 * The one place an error becomes an HTTP answer. Lota's errors are told apart by their `code`
 * (stable across releases, unlike class names): a job the queues refused is the client's 400,
 * Redis being away is a 503 the client may retry (with the job id, when the enqueue may have
 * landed), anything else a 500.
 */
export function describeFailure(err: unknown): HttpFailure {
  const e = err as { code?: unknown; field?: unknown; message?: unknown; jobId?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (code === 'JOB_INVALID') return { status: 400, body: { error: 'invalid_turn', field: e.field, message } };
  const name = err instanceof Error ? err.name : '';
  if ((code && UNAVAILABLE.has(code)) || name === 'MaxRetriesPerRequestError' || IOREDIS_UNAVAILABLE.test(message)) {
    return { status: 503, body: { error: 'redis_unavailable', code, message, ...(typeof e.jobId === 'string' ? { jobId: e.jobId } : {}) } };
  }
  return { status: 500, body: { error: 'internal', message } };
}

/**
 * Request paths fail fast while Redis is down or reconnecting (the client reconnects by itself),
 * instead of waiting in ioredis' offline queue: throws the runtime's `RedisUnreachableError`
 * (code REDIS_UNREACHABLE), which {@link describeFailure} answers with 503.
 */
export function assertRedisReady(redis: HostRedis): void {
  const status = redis.status;
  if (status !== 'ready') {
    throw new RedisUnreachableError(`Redis is not reachable right now (connection ${status}); retry shortly`);
  }
}
