import { Job, type IRedisTransaction, type JobsOptions, type Queue } from 'bullmq';
import {
  DEBOUNCE_DEADLINE_COMMAND,
  debounceDeadlineArgs,
  DEDUPE_NEXT_JOB_ID_FIELD,
  dedupeNextKey,
  defineLatestWins,
  jobKey,
  LATEST_WINS_COMMAND,
  latestWinsArgs,
  parseLatestWins,
} from './bullmq-keys.js';
import type { JobPayload } from './job-data.js';

/** What an enqueue did: a new job, dropped as a duplicate, or replaced a pending job's data. */
export interface EnqueueResult {
  /**
   * `added`: the job that runs this call's data. `replaced`: the job that now carries this
   * call's data (see `status`). `deduplicated`: the job that made this call redundant.
   */
  jobId: string;
  /**
   * - `added`: a new job was created with this call's data.
   * - `replaced`: this call's data replaced a pending job's and will run (unless a later call
   *   replaces it in turn).
   * - `deduplicated`: nothing of this call runs; `jobId` names the job that made it redundant
   *   (the job kept for the dedupe key, or the existing job with the same custom `jobId`).
   */
  status: 'added' | 'deduplicated' | 'replaced';
  /**
   * Durable enqueues only (`waitForReplicas` > 0): the replicas `WAIT` reported as having this
   * add (at least the number asked for; the call rejects otherwise).
   */
  replicas?: number;
}

/** A latest-wins call (debounce, repo indexing): see the scripts in bullmq-keys.ts. */
export interface LatestWins {
  dedupeId: string;
  /** Debounce: a delayed kept job is replaced (timer restarted); otherwise updated in place. */
  replaceDelayed: boolean;
  /** Debounce only: the burst runs at the latest this long after its first call. */
  maxWaitMs?: number | undefined;
  /** The call's wall clock (ms), for the burst's start. */
  now?: number | undefined;
}

/** One job to add. `opts` are the complete BullMQ options (queue defaults already merged). */
export interface AddRequest {
  data: JobPayload;
  jobId: string;
  /** The caller chose the id: it may already name a job, which BullMQ then silently keeps. */
  customJobId: boolean;
  opts: JobsOptions;
  /** Latest data wins for this dedupe id: see the script in bullmq-keys.ts. */
  latestWins?: LatestWins | undefined;
}

/** The few ioredis transaction commands used here beyond BullMQ's IRedisTransaction. */
interface ExtraCommands {
  exists(key: string): unknown;
  hget(key: string, field: string): unknown;
}

type Step = 'check' | 'add' | 'nextId' | 'deadline';

/**
 * The plain path (no custom id, no latest-wins): BullMQ's own add, one round trip. A returned
 * id other than ours is the job BullMQ kept for the dedupe key.
 */
export async function addPlain(queue: Queue, name: string, req: AddRequest): Promise<EnqueueResult> {
  const job = await queue.add(name, req.data, req.opts);
  const id = job.id ?? req.jobId;
  return id === req.jobId ? { jobId: id, status: 'added' } : { jobId: id, status: 'deduplicated' };
}

/** Which reply of a transaction belongs to which request, in order. */
export type TransactionPlan = Step[][];

/** A reply of one command inside EXEC, as ioredis gives it: an error, or the value. */
export type CommandReply = [Error | null, unknown];

/**
 * Queues, on a MULTI already opened on `tx` (a transaction, or a pipeline after `multi()`), each
 * request's commands: BullMQ's own add script, preceded where needed by a check that makes the
 * reported status a Redis fact read in the same atomic step: EXISTS for a custom job id (BullMQ
 * returns the id either way), the latest-wins script for a latest-wins call (and, after the add,
 * the id BullMQ stored for the follow-up run). Nothing is sent before the caller's exec().
 */
export async function queueAdds(tx: IRedisTransaction, queue: Queue, name: string, requests: readonly AddRequest[]): Promise<TransactionPlan> {
  const extra = tx as unknown as ExtraCommands; // an ioredis Pipeline: it has every command
  const plan: TransactionPlan = [];
  for (const req of requests) {
    const mine: Step[] = [];
    if (req.latestWins) {
      const { dedupeId, replaceDelayed, maxWaitMs = 0, now = Date.now() } = req.latestWins;
      tx.runCommand(LATEST_WINS_COMMAND, latestWinsArgs(queue, { dedupeId, jobId: req.jobId, data: JSON.stringify(req.data), replaceDelayed, maxWaitMs, now }));
      mine.push('check');
    } else if (req.customJobId) {
      extra.exists(jobKey(queue, req.jobId));
      mine.push('check');
    }
    // Job.addJob queues BullMQ's add script on the transaction.
    await new Job(queue, name, req.data, req.opts, req.jobId).addJob(tx);
    mine.push('add');
    if (req.latestWins) {
      extra.hget(dedupeNextKey(queue, req.latestWins.dedupeId), DEDUPE_NEXT_JOB_ID_FIELD);
      mine.push('nextId');
      if (req.latestWins.maxWaitMs) {
        // After BullMQ's add, in the same atomic step: the burst's job is due by its deadline.
        tx.runCommand(DEBOUNCE_DEADLINE_COMMAND, debounceDeadlineArgs(queue, req.latestWins.dedupeId, req.latestWins.maxWaitMs));
        mine.push('deadline');
      }
    }
    plan.push(mine);
  }
  return plan;
}

/** Reads the EXEC replies of a transaction queued by {@link queueAdds}; an error reply is thrown. */
export function readAdds(requests: readonly AddRequest[], plan: TransactionPlan, replies: readonly CommandReply[]): EnqueueResult[] {
  let at = 0;
  return requests.map((req, i) => {
    const got: Partial<Record<Step, unknown>> = {};
    for (const step of plan[i] ?? []) {
      const reply: CommandReply = replies[at++] ?? [new Error('missing reply'), undefined];
      if (reply[0]) throw reply[0];
      got[step] = reply[1];
    }
    return classify(req, got);
  });
}

/**
 * Adds jobs in one MULTI (one round trip, applied atomically): see {@link queueAdds} for what
 * runs in it.
 */
export async function addInTransaction(queue: Queue, name: string, requests: readonly AddRequest[]): Promise<EnqueueResult[]> {
  const client = await queue.getBackend().client;
  if (requests.some((r) => r.latestWins)) defineLatestWins(client);
  const tx = client.multi();
  const plan = await queueAdds(tx, queue, name, requests);
  const replies = await tx.exec();
  if (!replies) throw new Error('@lota/queues: the enqueue transaction was aborted by Redis');
  return readAdds(requests, plan, replies);
}

function classify(req: AddRequest, got: Partial<Record<Step, unknown>>): EnqueueResult {
  const added = got.add;
  if (typeof added !== 'string') throw new Error(`@lota/queues: BullMQ's add returned ${JSON.stringify(added)} for job '${req.jobId}'`);
  const mine = req.jobId;
  if (!req.latestWins) {
    if (req.customJobId && Number(got.check) === 1) return { jobId: mine, status: 'deduplicated' };
    return added === mine ? { jobId: mine, status: 'added' } : { jobId: added, status: 'deduplicated' };
  }
  const { outcome, keptId } = parseLatestWins(got.check);
  switch (outcome) {
    case 'exists':
      return { jobId: mine, status: 'deduplicated' };
    case 'none':
    case 'delayed':
      if (added !== mine) return { jobId: added, status: 'deduplicated' };
      return { jobId: mine, status: outcome === 'none' ? 'added' : 'replaced' };
    case 'active':
      // BullMQ stored this call as the follow-up; its run will get this call's id.
      return got.nextId === mine ? { jobId: mine, status: 'replaced' } : { jobId: added, status: 'deduplicated' };
    case 'updated':
      return added === mine ? { jobId: mine, status: 'added' } : { jobId: keptId, status: 'replaced' };
    case 'other':
      return { jobId: added, status: 'deduplicated' };
  }
}
