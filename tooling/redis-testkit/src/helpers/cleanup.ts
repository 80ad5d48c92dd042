import { afterEach } from 'vitest';

/**
 * Clean-ups that run after each test, last registered first (a client before its server).
 * Call once at the top level of a test file (or inside a `describe`).
 */
export function cleanupAfterEach(): (cleanup: () => unknown) => void {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => void cleanups.push(cleanup);
}
