import { run as embeddings } from './suites/embeddings.js';
import { run as lock } from './suites/lock.js';
import { run as queues } from './suites/queues.js';
import type { SuiteRun } from './types.js';

/**
 * Every suite, in the order `pnpm bench` runs them. A new suite is a file in `src/suites/`
 * exporting `run(ctx): Promise<Row[]>`, plus one line here.
 */
export const SUITES: Readonly<Record<string, SuiteRun>> = {
  queues,
  lock,
  embeddings,
};
