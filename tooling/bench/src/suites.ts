import { run as embeddings } from './embeddings/suite.js';
import { run as fairness } from './fairness/suite.js';
import { run as lock } from './lock/suite.js';
import { run as queues } from './queues/suite.js';
import type { SuiteRun } from './types.js';

/**
 * Every suite, in the order `pnpm bench` runs them. A new suite is a folder `src/<name>/` whose
 * `suite.ts` exports `run(ctx): Promise<Row[] | SuiteResult>`, plus one line here.
 */
export const SUITES: Readonly<Record<string, SuiteRun>> = {
  queues,
  lock,
  embeddings,
  fairness,
};
