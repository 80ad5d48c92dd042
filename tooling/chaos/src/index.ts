export { runCampaign } from './campaign.js';
export type { CampaignOptions, CampaignReport } from './campaign.js';
export { runSchedule, LATEST_WINS_QUEUES } from './run-schedule.js';
export type { RunScheduleOptions, ScheduleResult } from './run-schedule.js';
export { planSchedule, FAULT_KINDS } from './schedule.js';
export type { FaultKind, PlannedFault, Schedule, PlanOptions } from './schedule.js';
export { renderReport } from './report.js';
