import { loadConfig } from './config.js';
import { Host } from './host.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

/**
 * A worker process: the runtime with the memory-extraction and memory-digest workers. Run as
 * many as you like. On SIGTERM/SIGINT it stops taking jobs, lets the active ones finish
 * (within SHUTDOWN_TIMEOUT_MS), disconnects and exits 0; nothing is lost: jobs it never
 * started stay queued for the other workers.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('sample-host-worker', config.logLevel, { worker: config.workerName });
  const host = await Host.create(config, logger, 'worker');
  onShutdown(
    async () => {
      // Leave the registry first (this worker takes no new jobs), then let active jobs finish.
      try {
        await host.workers.stop(config.workerName);
      } catch {
        // not connected yet: nothing registered
      }
      await host.disconnect();
    },
    { logger, exitWithParent: config.exitWithParent },
  );
  await host.connect();
  await host.workers.start(config.workerName);
  logger.info({ extractionConcurrency: config.extractionConcurrency, digestConcurrency: config.digestConcurrency }, 'worker ready');
  process.stdout.write(`${JSON.stringify({ event: 'ready', worker: config.workerName })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sample-host worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
