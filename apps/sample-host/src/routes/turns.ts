import type { FastifyInstance } from 'fastify';
import type { Host } from '../host.js';
import { parseTurn, recordTurn } from '../turns.js';
import { assertRedisReady, describeFailure } from './errors.js';

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
      assertRedisReady(host.redis);
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
