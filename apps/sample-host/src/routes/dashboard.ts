import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Host } from '../host.js';

/** Where Bull Board is served. */
export const DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board over every queue the runtime knows (built-in and host queues), on the runtime's
 * own BullMQ `Queue` objects. It has no authentication of its own: put it behind your admin
 * auth (or a private listener) in production.
 */
export async function registerDashboard(app: FastifyInstance, host: Host, basePath = DASHBOARD_PATH): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  const { queues } = host.runtime;
  createBullBoard({
    queues: queues.queueNames.map((name) => new BullMQAdapter(queues.getQueue(name))),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Lota sample host' } },
  });
  serverAdapter.setBasePath(basePath);
  await app.register(serverAdapter.registerPlugin(), { prefix: basePath });
}
