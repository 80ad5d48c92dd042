import { loadConfig } from './config.js';
import { Host } from './host.js';
import { createLogger } from './logger.js';
import { buildServer } from './server.js';
import { onShutdown } from './shutdown.js';

/**
 * The API process: producer-only runtime (no workers) plus the HTTP server. On SIGTERM/SIGINT
 * it stops taking requests (in-flight ones finish), then disconnects the runtime, and exits 0.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('sample-host-api', config.logLevel);
  const host = await Host.create(config, logger, 'producer');
  await host.connect();
  const server = await buildServer(host);
  onShutdown(
    async () => {
      server.markClosing();
      // HTTP first: requests in flight still enqueue over a live runtime; new ones get 503.
      await server.app.close();
      await host.disconnect();
    },
    { logger, exitWithParent: config.exitWithParent },
  );
  const address = await server.app.listen({ host: config.host, port: config.port });
  logger.info({ address, redis: config.redisUrl.replace(/\/\/[^@]*@/, '//***@'), keyPrefix: config.keyPrefix }, 'listening');
  process.stdout.write(`${JSON.stringify({ event: 'listening', address })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sample-host api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
