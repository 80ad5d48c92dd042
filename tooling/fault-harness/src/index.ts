export { nowUs, elapsedMs } from './clock.js';
export { createRng } from './prng.js';
export type { Rng } from './prng.js';
export { History, HISTORY_MARK, historyLine, parseHistoryLine } from './history.js';
export type {
  Ack,
  BoundedCall,
  Effect,
  Fault,
  HistoryEvent,
  Loss,
  ProcessExit,
  RunEnd,
  RunStart,
  SectionEnd,
  SectionStart,
  Stall,
  VectorCheck,
} from './history.js';
export { createRecorder } from './recorder.js';
export type { Activity, Recorder, RunHandle, SectionHandle } from './recorder.js';
export { FencedStore } from './fenced-store.js';
export type { FencedWrite } from './fenced-store.js';
export { Fleet, MESSAGE_MARK, STOP_LINE, sendMessage } from './fleet.js';
export type { FleetProc, ProcSpec } from './fleet.js';
export { checkAll, CHECKS } from './checks/all.js';
export type { CheckInputs } from './checks/all.js';
export { checkLiveExclusion } from './checks/exclusion.js';
export { checkTokensIncrease, checkStoreOrder } from './checks/fencing.js';
export { checkAckedJobsRan, checkLatestDataRunsLast } from './checks/jobs.js';
export { checkVectors } from './checks/vectors.js';
export { checkBounds } from './checks/bounds.js';
export type { BoundSlack } from './checks/bounds.js';
export { checkExits } from './checks/exits.js';
export { checkNoSecrets } from './checks/secrets.js';
export type { Violation } from './checks/violation.js';
