/**
 * Every assumption this package makes about how BullMQ lays out its keys lives in this file,
 * and test/bullmq-keys.test.ts fails loudly when one stops holding. BullMQ has no API to tell,
 * in the same atomic step as an add, whether a deduplicated call was kept or dropped, nor to
 * replace the data of a kept job only if it has not started; the script below does both by
 * reading and writing BullMQ's keys, so the package's peer range is pinned to the BullMQ
 * minors it is tested with ({@link BULLMQ_TESTED_RANGE}).
 *
 * Layout (BullMQ 6.7; `<q>` is `queue.toKey('')`, i.e. `<prefix>:{<queue>}:<queue>:`):
 * - `<q><jobId>`           HASH, one job: field `data` (JSON), field `progress` (JSON).
 * - `<q><jobId>:lock`      STRING, the token of the worker running the job (PX lockDuration).
 * - `<q>de:<dedupeId>`     STRING, the id of the job a deduplication id is kept for.
 * - `<q>dn:<dedupeId>`     HASH, the call kept while that job is active (`keepLastIfActive`):
 *                          fields `name`, `data`, `opts`, `jid` (the id its run will have).
 * - `<q>wait`, `<q>paused`, `<q>active`: LISTs of job ids; `<q>delayed`, `<q>prioritized`,
 *   `<q>completed`, `<q>failed`, `<q>waiting-children`: ZSETs. A job id is in exactly one of them.
 * - `<q>delayed` scores are `due time in ms * 0x1000 + n` (n orders jobs due in the same ms); a
 *   job's hash has `timestamp` (created, ms) and `delay`. `<q>marker` is a ZSET whose member `1`
 *   scores the earliest due time (`first delayed score / 0x1000`): blocked workers wake on it.
 * - `<q>dw:<dedupeId>`     HASH, this package's own: `start` (ms) of the debounce burst and the
 *                          `job` it was last written for (`maxWaitMs`; see the scripts below).
 */
import type { Queue } from 'bullmq';

/**
 * The BullMQ versions this layout is tested with; the package's `bullmq` peer range must be
 * exactly this (checked by the layout test). Widen both only after the layout test passes on
 * the new minor.
 */
export const BULLMQ_TESTED_RANGE = '>=6.7.0 <6.8.0';

/** The key of one job's hash. */
export function jobKey(queue: Queue, jobId: string): string {
  return queue.toKey(jobId);
}

/** The key holding the lock token of a running job. */
export function jobLockKey(queue: Queue, jobId: string): string {
  return `${queue.toKey(jobId)}:lock`;
}

/** The key holding the id of the job kept for a deduplication id. */
export function dedupeKey(queue: Queue, dedupeId: string): string {
  return `${queue.toKey('de')}:${dedupeId}`;
}

/** The hash holding the call kept while the deduplicated job is active (`keepLastIfActive`). */
export function dedupeNextKey(queue: Queue, dedupeId: string): string {
  return queue.toKey(`dn:${dedupeId}`);
}

/** The key holding the start of a debounce burst (`maxWaitMs`): this package's own, beside BullMQ's. */
export function debounceWindowKey(queue: Queue, dedupeId: string): string {
  return queue.toKey(`dw:${dedupeId}`);
}

/** Name under which the script is defined on BullMQ's client; versioned so an upgrade never runs an old body. */
export const LATEST_WINS_COMMAND = 'lotaQueuesLatestWins3';

/**
 * Runs in one MULTI immediately before BullMQ's own add of the same call, so it sees exactly
 * the state that add will see and nothing can happen in between. It reports what the add is
 * about to do and, where BullMQ would drop the call although its job has not started, writes
 * the call's data into that job itself (BullMQ's add then finds the job and changes nothing).
 *
 * KEYS[1] dedupe key          <q>de:<dedupeId>
 * KEYS[2] dedupe-next key     <q>dn:<dedupeId>
 * KEYS[3] this call's job key <q><jobId>
 * KEYS[4] delayed  KEYS[5] active  KEYS[6] prioritized  KEYS[7] completed  KEYS[8] failed
 * KEYS[9] waiting-children  KEYS[10] debounce window <q>dw:<dedupeId>
 * ARGV[1] job key prefix <q>
 * ARGV[2] this call's data (JSON)
 * ARGV[3] '1': BullMQ replaces a delayed kept job (debounce, `replace`); '0': update it in place
 * ARGV[4] this call's job id   ARGV[5] now (ms)   ARGV[6] maxWaitMs, '0' for none
 * With a maxWaitMs, the burst's start is recorded for the job this call creates: now on `none`;
 * on `delayed` the start of the burst of the job it replaces (that job's own creation time when
 * the window was written for another job, e.g. a follow-up BullMQ created). The clamp script
 * that runs after BullMQ's add reads it.
 * Returns { outcome, keptId }, outcome one of:
 *   exists  - KEYS[3] is already a job (a reused custom jobId): BullMQ's add changes nothing
 *   none    - no live kept job: BullMQ's add creates this call's job
 *   delayed - the kept job is delayed and ARGV[3] = '1': BullMQ's add replaces it with this one
 *   active  - the kept job is running: BullMQ's add stores this call as its single follow-up
 *   updated - the kept job has not started (wait, paused, prioritized; delayed when ARGV[3] =
 *             '0'): its data is now ARGV[2], its progress cleared (it was progress on other
 *             data), and any older follow-up dropped (this call is newer)
 *   other   - the kept job is in another state (finished, waiting for children): BullMQ's add
 *             drops this call
 * A job is in exactly one of BullMQ's state structures; one that is in none of the sets above
 * and not active is in `wait` or `paused` (lists that can be long, so they are not scanned).
 * Cost: O(1) except LPOS over `active` (as long as the jobs running right now).
 */
const LATEST_WINS_LUA = `
local rcall = redis.call
local function window(start)
  if ARGV[6] == '0' then return end
  rcall('HSET', KEYS[10], 'start', start, 'job', ARGV[4])
  rcall('PEXPIRE', KEYS[10], tonumber(ARGV[6]) * 2 + 60000)
end
if rcall('EXISTS', KEYS[3]) == 1 then return {'exists', ''} end
local keptId = rcall('GET', KEYS[1])
if not keptId then
  window(ARGV[5])
  return {'none', ''}
end
local keptKey = ARGV[1] .. keptId
if rcall('EXISTS', keptKey) == 0 then
  window(ARGV[5])
  return {'none', keptId}
end
local function update()
  rcall('HSET', keptKey, 'data', ARGV[2])
  rcall('HDEL', keptKey, 'progress')
  rcall('DEL', KEYS[2])
  return {'updated', keptId}
end
if rcall('ZSCORE', KEYS[4], keptId) then
  if ARGV[3] == '1' then
    local start = rcall('HGET', KEYS[10], 'job') == keptId and rcall('HGET', KEYS[10], 'start') or rcall('HGET', keptKey, 'timestamp') or ARGV[5]
    window(start)
    return {'delayed', keptId}
  end
  return update()
end
if rcall('LPOS', KEYS[5], keptId) then return {'active', keptId} end
if rcall('ZSCORE', KEYS[6], keptId) then return update() end
if rcall('ZSCORE', KEYS[7], keptId) or rcall('ZSCORE', KEYS[8], keptId) or rcall('ZSCORE', KEYS[9], keptId) then
  return {'other', keptId}
end
return update()
`;

export type LatestWinsOutcome = 'exists' | 'none' | 'delayed' | 'active' | 'updated' | 'other';

/** The smallest client surface the script needs (BullMQ's IRedisClient has it). */
interface ScriptHost {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

const defined = new WeakSet<object>();

/** Name of the clamp script; versioned like {@link LATEST_WINS_COMMAND}. */
export const DEBOUNCE_DEADLINE_COMMAND = 'lotaQueuesDebounceDeadline1';

/**
 * Runs in the same MULTI right after BullMQ's add of a debounced call with a `maxWaitMs`: if the
 * job kept for the dedupe id is the one the burst window was written for and is due later than
 * the burst's start + maxWaitMs, it is moved to that deadline in BullMQ's delayed set (score and
 * `delay` field), and the delay marker is set to the earliest due time so blocked workers wake.
 *
 * KEYS[1] debounce window <q>dw:<dedupeId>   KEYS[2] dedupe key <q>de:<dedupeId>
 * KEYS[3] delayed   KEYS[4] marker
 * ARGV[1] job key prefix <q>   ARGV[2] maxWaitMs
 * Returns 1 when the job was moved earlier, 0 otherwise. Cost: O(log N) in the delayed set.
 */
const DEBOUNCE_DEADLINE_LUA = `
local rcall = redis.call
local jobId = rcall('HGET', KEYS[1], 'job')
if not jobId or rcall('GET', KEYS[2]) ~= jobId then return 0 end
local score = rcall('ZSCORE', KEYS[3], jobId)
if not score then return 0 end
local deadline = tonumber(rcall('HGET', KEYS[1], 'start')) + tonumber(ARGV[2])
if math.floor(tonumber(score) / 0x1000) <= deadline then return 0 end
local low, high = deadline * 0x1000, (deadline + 1) * 0x1000 - 1
local last = rcall('ZREVRANGEBYSCORE', KEYS[3], high, low, 'WITHSCORES', 'LIMIT', 0, 1)
local newScore = low
if last[2] then newScore = math.min(tonumber(last[2]) + 1, high) end
rcall('ZADD', KEYS[3], newScore, jobId)
local jobKey = ARGV[1] .. jobId
local created = tonumber(rcall('HGET', jobKey, 'timestamp')) or deadline
rcall('HSET', jobKey, 'delay', math.max(0, deadline - created))
local first = rcall('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if first[2] then rcall('ZADD', KEYS[4], tonumber(first[2]) / 0x1000, '1') end
return 1
`;

/** Defines the scripts on BullMQ's client once; transactions created afterwards can run them. */
export function defineLatestWins(client: ScriptHost): void {
  if (defined.has(client)) return;
  client.defineCommand(LATEST_WINS_COMMAND, { numberOfKeys: 10, lua: LATEST_WINS_LUA });
  client.defineCommand(DEBOUNCE_DEADLINE_COMMAND, { numberOfKeys: 4, lua: DEBOUNCE_DEADLINE_LUA });
  defined.add(client);
}

/** KEYS and ARGV of the clamp script for one call. */
export function debounceDeadlineArgs(queue: Queue, dedupeId: string, maxWaitMs: number): string[] {
  return [debounceWindowKey(queue, dedupeId), dedupeKey(queue, dedupeId), queue.toKey('delayed'), queue.toKey('marker'), queue.toKey(''), String(maxWaitMs)];
}

/** What the latest-wins script needs of one call. */
export interface LatestWinsCall {
  dedupeId: string;
  jobId: string;
  /** The call's data, JSON. */
  data: string;
  replaceDelayed: boolean;
  /** Debounce only: bound the burst (0: no bound). */
  maxWaitMs: number;
  /** Wall clock of the call, ms (BullMQ's job timestamps are the producer's clock too). */
  now: number;
}

/** KEYS and ARGV of the script for one call. */
export function latestWinsArgs(queue: Queue, call: LatestWinsCall): string[] {
  const { dedupeId, jobId, data, replaceDelayed } = call;
  return [
    dedupeKey(queue, dedupeId),
    dedupeNextKey(queue, dedupeId),
    jobKey(queue, jobId),
    queue.toKey('delayed'),
    queue.toKey('active'),
    queue.toKey('prioritized'),
    queue.toKey('completed'),
    queue.toKey('failed'),
    queue.toKey('waiting-children'),
    debounceWindowKey(queue, dedupeId),
    queue.toKey(''),
    data,
    replaceDelayed ? '1' : '0',
    jobId,
    String(call.now),
    String(call.maxWaitMs),
  ];
}

/** Reads the script's reply; anything unexpected is an error (a BullMQ or script change). */
export function parseLatestWins(reply: unknown): { outcome: LatestWinsOutcome; keptId: string } {
  const outcomes: readonly string[] = ['exists', 'none', 'delayed', 'active', 'updated', 'other'];
  if (Array.isArray(reply) && typeof reply[0] === 'string' && outcomes.includes(reply[0]) && typeof reply[1] === 'string') {
    return { outcome: reply[0] as LatestWinsOutcome, keptId: reply[1] };
  }
  throw new Error(`@lota/queues: unexpected reply from the ${LATEST_WINS_COMMAND} script: ${JSON.stringify(reply)}`);
}

/** The field of the dedupe-next hash naming the id of the follow-up run. */
export const DEDUPE_NEXT_JOB_ID_FIELD = 'jid';
