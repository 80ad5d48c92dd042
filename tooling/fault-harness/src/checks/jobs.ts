import type { History } from '../history.js';
import type { Violation } from './violation.js';

/**
 * No acknowledged job is lost: every job id an enqueue returned has a successful run by the end,
 * unless a fault that may lose queue data (see history.ts) ended after the enqueue was sent.
 * Latest-wins queues (`latestWins`) are left to {@link checkLatestDataRunsLast}: there a later
 * call may replace a pending job by design, and only the latest data must run.
 */
export function checkAckedJobsRan(history: History, latestWins: readonly string[] = []): Violation[] {
  const done = new Set(history.of('run-end').filter((r) => r.ok).map((r) => r.id));
  const ranOk = new Set(history.of('run').filter((r) => done.has(r.id)).map((r) => `${r.queue}/${r.jobId}`));
  const violations: Violation[] = [];
  const reported = new Set<string>();
  for (const ack of history.of('ack')) {
    if (latestWins.includes(ack.queue)) continue;
    const job = `${ack.queue}/${ack.jobId}`;
    if (ranOk.has(job) || reported.has(job)) continue;
    if (history.lossBetween('queue', ack.sent ?? ack.t, Number.POSITIVE_INFINITY)) continue;
    reported.add(job);
    violations.push({ check: 'acked-job-lost', message: `job ${job} was acknowledged (${ack.status}) at ${ack.t} µs by ${ack.proc} and never completed` });
  }
  return violations;
}

/**
 * Latest data wins on a debounced queue: per debounce key, the last successful run carries the
 * data of the last acknowledged call, or newer data. Producers number each key's calls with an
 * increasing `seq`; a newer seq than the last acknowledged one can only come from a later call
 * whose acknowledgement was lost (a timeout after Redis applied it), which is newer data too.
 * A last call acknowledged as 'deduplicated' dropped its data, which is reported unless a run
 * with its data (or newer) happened anyway (a producer that re-sends the same data).
 */
export function checkLatestDataRunsLast(history: History, queues: readonly string[]): Violation[] {
  const violations: Violation[] = [];
  const lastAck = new Map<string, { seq: number; t: number; sent: number; status: string; jobId: string }>();
  for (const ack of history.of('ack')) {
    if (!queues.includes(ack.queue) || ack.key === undefined || ack.seq === undefined) continue;
    const key = `${ack.queue}/${ack.key}`;
    const prev = lastAck.get(key);
    if (!prev || ack.t > prev.t) lastAck.set(key, { seq: ack.seq, t: ack.t, sent: ack.sent ?? ack.t, status: ack.status, jobId: ack.jobId });
  }
  const ends = new Map(history.of('run-end').map((e) => [e.id, e]));
  const lastRun = new Map<string, { seq: number | undefined; t: number; id: string }>();
  for (const run of history.of('run')) {
    const end = ends.get(run.id);
    if (!end?.ok || run.key === undefined || !queues.includes(run.queue)) continue;
    const key = `${run.queue}/${run.key}`;
    const prev = lastRun.get(key);
    if (!prev || end.t > prev.t) lastRun.set(key, { seq: run.seq, t: end.t, id: run.id });
  }
  for (const [key, ack] of lastAck) {
    if (history.lossBetween('queue', ack.sent, Number.POSITIVE_INFINITY)) continue;
    const run = lastRun.get(key);
    if (ack.status === 'deduplicated' && !(run?.seq !== undefined && run.seq >= ack.seq)) {
      violations.push({ check: 'latest-data', message: `${key}: the last acknowledged call (seq ${ack.seq}) was reported 'deduplicated': its data never runs` });
    } else if (!run) {
      violations.push({ check: 'latest-data', message: `${key}: the last acknowledged call (seq ${ack.seq}, ${ack.status}, job ${ack.jobId}) never ran` });
    } else if (run.seq === undefined || run.seq < ack.seq) {
      violations.push({ check: 'latest-data', message: `${key}: the last run (${run.id}) had seq ${String(run.seq)}, older than the last acknowledged call's seq ${ack.seq} (${ack.status}, job ${ack.jobId})` });
    }
  }
  return violations;
}
