import type { FastifyInstance } from 'fastify';
import type { Host } from '../host.js';
import { readDigests } from '../memory-digest-processor.js';
import { assertRedisReady, describeFailure } from './errors.js';

/** `GET /orgs/:id/memories`: the org's memories (oldest first, without vectors) and its workstream digests. */
export function registerMemoryRoutes(app: FastifyInstance, host: Host): void {
  app.get<{ Params: { id: string } }>('/orgs/:id/memories', async (request, reply) => {
    const orgId = request.params.id;
    if (orgId === '' || orgId.length > 128) return reply.code(400).send({ error: 'invalid_org', field: 'id', message: 'the org id must be 1-128 characters' });
    try {
      assertRedisReady(host.redis);
      const [memories, digests] = await Promise.all([host.store.list(orgId), readDigests(host, orgId)]);
      return await reply.send({ orgId, count: memories.length, memories, digests });
    } catch (err) {
      const { status, body } = describeFailure(err);
      return reply.code(status).send(body);
    }
  });
}
