import Fastify, { type FastifyInstance } from 'fastify';
import type { Host } from './host.js';
import { registerDashboard } from './routes/dashboard.js';
import { registerHealthRoute } from './routes/health.js';
import { registerMemoryRoutes } from './routes/memories.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerTurnRoutes } from './routes/turns.js';

export interface HostServer {
  app: FastifyInstance;
  /** From now on `/health` answers 503 (load balancers stop sending traffic). */
  markClosing(): void;
}

/**
 * The API process's HTTP server: `POST /turns`, `GET /orgs/:id/memories`, `GET /health`,
 * `GET /metrics` and Bull Board at `/admin/queues`, all over one connected host (producer role).
 */
export async function buildServer(host: Host): Promise<HostServer> {
  let closing = false;
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, return503OnClosing: true });
  registerTurnRoutes(app, host);
  registerMemoryRoutes(app, host);
  registerHealthRoute(app, host, () => closing);
  registerMetricsRoute(app, host);
  await registerDashboard(app, host);
  await app.ready();
  return { app, markClosing: () => (closing = true) };
}
