import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** The private helpers every package bundles; tests import package sources, which import it by name. */
const SHARED = fileURLToPath(new URL('../../packages/shared/src/index.ts', import.meta.url));

/**
 * Shared vitest settings. Tests talk to real Redis servers they start themselves, so files
 * run one at a time (a fault test that pauses its server must not starve another file's
 * timers on a 2-core machine), and results are also written as JSON for the root summary.
 */
export function defineTestConfig(overrides = {}) {
  const { test = {}, resolve = {}, ...rest } = overrides;
  return defineConfig({
    ...rest,
    resolve: { ...resolve, alias: { '@lota/shared': SHARED, ...resolve.alias } },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      fileParallelism: false,
      reporters: ['default', 'json'],
      outputFile: { json: '.test-results/vitest.json' },
      ...test,
    },
  });
}
