import type { FastifyInstance } from 'fastify';
import type { Host } from '../host.js';

/** A health probe must answer quickly, whatever Redis does. */
const HEALTH_DEADLINE_MS = 2_000;

/**
 * `GET /health`: `runtime.health()`; 200 when ready, 503 otherwise (and while shutting down).
 * While the general connection is not up, it answers 503 at once: `runtime.health()` would
 * PING through ioredis' offline queue and take the whole health-check timeout (5 s) to say so.
 */
export function registerHealthRoute(app: FastifyInstance, host: Host, isClosing: () => boolean): void {
  app.get('/health', async (_request, reply) => {
    const connection = host.redis.status;
    if (connection !== 'ready') {
      return reply.code(503).send({ status: 'down', redis: { status: 'down', connection }, reason: `the Redis connection is ${connection}` });
    }
    let timer: NodeJS.Timeout | undefined;
    const health = await Promise.race([
      host.runtime.health(),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), HEALTH_DEADLINE_MS))),
    ]).finally(() => clearTimeout(timer));
    if (!health) return reply.code(503).send({ status: 'down', reason: `no health answer within ${HEALTH_DEADLINE_MS} ms` });
    const closing = isClosing();
    const ready = health.status === 'ready' && !closing;
    return reply.code(ready ? 200 : 503).send(closing ? { ...health, status: 'closing' } : health);
  });
}
