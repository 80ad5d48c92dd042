import type { HostLogger } from './logger.js';

export interface ShutdownOptions {
  logger: HostLogger;
  /** Also shut down when stdin ends: the parent process (the demo, a test) is gone. */
  exitWithParent?: boolean;
  /** Exit anyway this long after cleanup finished, if some handle still keeps the process alive. */
  exitGraceMs?: number;
}

/**
 * Runs `cleanup` once on the first SIGTERM or SIGINT (or when the parent goes away), then sets
 * exit code 0, or 1 when cleanup threw. A second signal while shutting down is logged and
 * otherwise ignored: the cleanup is bounded by its own timeout, and cutting it short would
 * lose the jobs it is letting finish.
 */
export function onShutdown(cleanup: (reason: string) => Promise<void>, opts: ShutdownOptions): void {
  const { logger, exitWithParent = false, exitGraceMs = 2_000 } = opts;
  let started = false;
  const run = (reason: string) => {
    if (started) {
      logger.info({ reason }, 'already shutting down; waiting for active work to finish');
      return;
    }
    started = true;
    logger.info({ reason }, 'shutting down');
    cleanup(reason).then(
      () => {
        process.exitCode = 0;
        logger.info({}, 'shut down cleanly');
      },
      (err: unknown) => {
        process.exitCode = 1;
        logger.error({ error: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
      },
    ).finally(() => {
      if (exitWithParent) process.stdin.destroy(); // the watched pipe must not keep the process alive
      // Everything is closed; should a stray handle keep the loop alive, do not hang.
      setTimeout(() => process.exit(), exitGraceMs).unref();
    });
  };
  process.on('SIGTERM', () => run('SIGTERM'));
  process.on('SIGINT', () => run('SIGINT'));
  if (exitWithParent) {
    process.stdin.on('end', () => run('parent exited'));
    process.stdin.on('error', () => run('parent exited'));
    process.stdin.resume();
  }
}
