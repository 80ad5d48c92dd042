import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowUs, type Recorder, type Rng } from '@lota/fault-harness';
import type { EnqueueResult, LotaQueues } from '@lota/runtime';
import type { SoakOptions } from './options.js';
import { turnText } from './texts.js';

type Status = EnqueueResult['status'];

export interface EnqueueTally {
  calls: number;
  byStatus: Record<Status, number>;
  /** error name/code -> count (not acknowledged: nothing recorded as sent). */
  errors: Map<string, number>;
  /** Milliseconds per acknowledged call. */
  latencies: number[];
  /** Date.now() at the start of each acknowledged call (same order as `latencies`). */
  sentAt: number[];
}

export interface ProducerResult {
  /** Distinct turns sent. */
  turns: number;
  /** Turns sent a second time: at the same moment, and later. */
  duplicatesAtOnce: number;
  duplicatesLater: number;
  extraction: EnqueueTally;
  digest: EnqueueTally;
  startedAt: number;
  endedAt: number;
}

function tally(): EnqueueTally {
  return { calls: 0, byStatus: { added: 0, deduplicated: 0, replaced: 0 }, errors: new Map(), latencies: [], sentAt: [] };
}

function errorKey(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} (${code})` : err.name;
  }
  return String(err);
}

/**
 * Drives turns over many orgs and workstreams, paced over the run (random, Poisson-like gaps):
 * each turn is one `enqueueMemoryExtraction` plus one `scheduleMemoryDigest`, as the sample
 * host's POST /turns does. Some turns are sent twice (a retrying client), at once or a little
 * later. Digest schedules of one workstream are sent one after the other (a conversation's
 * turns are sequential), so "the last acknowledged schedule" is well defined.
 *
 * Every acknowledgement goes to the history (`rec`): the extraction's jobId and status, and the
 * digest's debounce key ("<org>/<workstream>") with its turn's seq, for the harness's
 * acknowledged-job and latest-data checks.
 */
export async function produce(queues: LotaQueues, opts: SoakOptions, rng: Rng, rec: Recorder, signal: AbortSignal): Promise<ProducerResult> {
  const result: ProducerResult = {
    turns: 0,
    duplicatesAtOnce: 0,
    duplicatesLater: 0,
    extraction: tally(),
    digest: tally(),
    startedAt: Date.now(),
    endedAt: 0,
  };
  const durationMs = opts.minutes * 60_000;
  const meanGap = durationMs / opts.turns;
  const inflight = new Set<Promise<void>>();
  const chains = new Map<string, Promise<void>>();
  const MAX_INFLIGHT = 256;

  const track = (p: Promise<void>): void => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const timed = async (t: EnqueueTally, call: () => Promise<EnqueueResult>): Promise<EnqueueResult | undefined> => {
    t.calls++;
    const sentAt = Date.now();
    const start = performance.now();
    try {
      const r = await call();
      t.latencies.push(performance.now() - start);
      t.sentAt.push(sentAt);
      t.byStatus[r.status]++;
      return r;
    } catch (err) {
      t.errors.set(errorKey(err), (t.errors.get(errorKey(err)) ?? 0) + 1);
      return undefined;
    }
  };

  const ack = (queue: string, r: EnqueueResult, data: { key?: string; seq?: number } = {}): void =>
    rec.emit({ k: 'ack', proc: rec.proc, queue, jobId: r.jobId, status: r.status, t: nowUs(), ...data });

  const extract = async (data: { orgId: string; workstreamId: string; turnId: string; seq: number; text: string }): Promise<void> => {
    const r = await timed(result.extraction, () => queues.enqueueMemoryExtraction(data));
    if (r) ack('memory-extraction', r);
  };

  const digest = (orgId: string, workstreamId: string, turnId: string, seq: number): void => {
    const key = `${orgId}/${workstreamId}`;
    const run = (chains.get(key) ?? Promise.resolve()).then(async () => {
      const r = await timed(result.digest, () => queues.scheduleMemoryDigest({ orgId, workstreamId, lastTurnId: turnId, seq }));
      if (r) ack('memory-digest', r, { key, seq });
    });
    chains.set(key, run);
    track(run);
  };

  const t0 = performance.now();
  let due = 0;
  for (let seq = 1; seq <= opts.turns; seq++) {
    due += -Math.log(1 - rng.next()) * meanGap; // exponential gaps: bursts and lulls around the mean rate
    const wait = t0 + due - performance.now();
    if (wait > 1) {
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        break; // interrupted
      }
    }
    if (signal.aborted) break;
    while (inflight.size >= MAX_INFLIGHT) await Promise.race(inflight);

    // Orgs are not equally busy: a quarter of them get half the turns (more lock contention there).
    const hot = rng.next() < 0.5;
    const orgIndex = hot ? Math.floor(rng.next() * Math.max(1, Math.floor(opts.orgs / 4))) : Math.floor(rng.next() * opts.orgs);
    const orgId = `org-${orgIndex + 1}`;
    const workstreamId = `ws-${Math.floor(rng.next() * opts.workstreams) + 1}`;
    const turnId = `turn-${seq}`;
    const data = { orgId, workstreamId, turnId, seq, text: turnText(rng, orgIndex) };
    result.turns++;
    track(extract(data));
    digest(orgId, workstreamId, turnId, seq);

    const dup = rng.next();
    if (dup < opts.duplicateRate / 2) {
      result.duplicatesAtOnce++;
      track(extract(data));
      digest(orgId, workstreamId, turnId, seq);
    } else if (dup < opts.duplicateRate) {
      result.duplicatesLater++;
      const delay = 200 + rng.next() * 2_800;
      track(
        sleep(delay).then(async () => {
          await extract(data);
          digest(orgId, workstreamId, turnId, seq);
        }),
      );
    }
  }
  while (inflight.size > 0) await Promise.allSettled([...inflight]);
  result.endedAt = Date.now();
  return result;
}
