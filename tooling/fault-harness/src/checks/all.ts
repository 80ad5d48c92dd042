import type { History } from '../history.js';
import { checkBounds, type BoundSlack } from './bounds.js';
import { checkLiveExclusion } from './exclusion.js';
import { checkExits } from './exits.js';
import { checkStoreOrder, checkTokensIncrease } from './fencing.js';
import { checkAckedJobsRan, checkLatestDataRunsLast } from './jobs.js';
import { checkNoSecrets } from './secrets.js';
import { checkVectors } from './vectors.js';
import type { Violation } from './violation.js';

export interface CheckInputs {
  history: History;
  /** The fenced store's log of accepted tokens per scope. */
  storeLog?: ReadonlyMap<string, readonly number[]>;
  /** Queues whose jobs carry latest-wins data (debounce keys with sequence numbers). */
  latestWinsQueues?: readonly string[];
  /** Every text the processes printed, for the secret scan. */
  outputs?: ReadonlyArray<{ source: string; text: string }>;
  secrets?: readonly string[];
  slack?: BoundSlack;
}

/** The names of the guarantees checked, for reports. */
export const CHECKS = [
  'lock-exclusion',
  'fencing-tokens',
  'fenced-store',
  'acked-job-lost',
  'job-exclusion',
  'latest-data',
  'vectors',
  'bounded-calls',
  'process-exit',
  'secrets',
] as const;

/** Runs every check on one history; an empty list means every guarantee held. */
export function checkAll(inputs: CheckInputs): Violation[] {
  const { history } = inputs;
  return [
    ...checkLiveExclusion(history, 'section'),
    ...checkTokensIncrease(history),
    ...checkStoreOrder(inputs.storeLog ?? new Map()),
    ...checkAckedJobsRan(history, inputs.latestWinsQueues ?? []),
    ...checkLiveExclusion(history, 'run'),
    ...checkLatestDataRunsLast(history, inputs.latestWinsQueues ?? []),
    ...checkVectors(history),
    ...checkBounds(history, inputs.slack),
    ...checkExits(history),
    ...checkNoSecrets(inputs.outputs ?? [], inputs.secrets ?? []),
  ];
}
