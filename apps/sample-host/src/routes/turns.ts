import type { FastifyInstance } from 'fastify';
import type { Host } from '../host.js';
import { parseTurn, recordTurn } from '../turns.js';

/** Codes of the runtime's errors that mean "Redis is not there right now": retry later. */
const UNAVAILABLE = new Set(['REDIS_UNREACHABLE', 'ENQUEUE_TIMEOUT', 'NOT_CONNECTED', 'QUEUES_CLOSED']);

/** Maps an error from Redis or the queues to a status and a body a client can act on. */
export function describeFailure(err: unknown): { status: number; body: Record<string, unknown> } {
  const e = err as { code?: unknown; field?: unknown; message?: unknown; jobId?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (code === 'JOB_INVALID') return { status: 400, body: { error: 'invalid_turn', field: e.field, message } };
  const name = err instanceof Error ? err.name : '';
  if ((code && UNAVAILABLE.has(code)) || name === 'MaxRetriesPerRequestError' || name === 'RedisUnavailableError' || /Connection is closed|Command timed out|ECONNREFUSED|Stream isn't writeable/i.test(message)) {
    return { status: 503, body: { error: 'redis_unavailable', code, message, ...(typeof e.jobId === 'string' ? { jobId: e.jobId } : {}) } };
  }
  return { status: 500, body: { error: 'internal', message } };
}

/** Thrown before a request touches Redis when the connection is not up: the request fails at once instead of waiting in ioredis' offline queue. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** Request paths fail fast while Redis is down or reconnecting (the client reconnects by itself). */
export function assertRedisReady(host: Host): void {
  const status = host.redis.status;
  if (status !== 'ready') throw new RedisUnavailableError(`Redis is not reachable right now (connection ${status}); retry shortly`);
}

/**
 * `POST /turns` `{ orgId, workstreamId, turnId, text }`: records the turn, enqueues its memory
 * extraction (deduplicated per turn) and schedules the workstream's digest (debounced).
 * 202 with what each step did; 400 naming the field; 503 when Redis is unavailable.
 */
export function registerTurnRoutes(app: FastifyInstance, host: Host): void {
  app.post('/turns', async (request, reply) => {
    const parsed = parseTurn(request.body);
    if ('error' in parsed) return reply.code(400).send({ error: 'invalid_turn', field: parsed.error.field, message: parsed.error.message });
    const { turn } = parsed;
    try {
      assertRedisReady(host);
      const recorded = await recordTurn(host.redis, host.keys, turn);
      const { queues } = host.runtime;
      const extraction = await queues.enqueueMemoryExtraction({ orgId: turn.orgId, workstreamId: turn.workstreamId, turnId: turn.turnId, text: turn.text });
      const digest = await queues.scheduleMemoryDigest({ orgId: turn.orgId, workstreamId: turn.workstreamId, lastTurnId: turn.turnId });
      return await reply.code(202).send({ turn: { orgId: turn.orgId, workstreamId: turn.workstreamId, turnId: turn.turnId, recorded }, extraction, digest });
    } catch (err) {
      const { status, body } = describeFailure(err);
      if (status >= 500) host.logger.error({ status, error: body.message }, 'POST /turns failed');
      return reply.code(status).send(body);
    }
  });
}
