// Each check must catch the violation it exists for and stay quiet on a history that keeps the
// guarantee (a check that cannot fail is a defect). Histories here are written by hand, in µs.
import { describe, expect, it } from 'vitest';
import {
  checkAckedJobsRan,
  checkAll,
  checkBounds,
  checkExits,
  checkLatestDataRunsLast,
  checkLiveExclusion,
  checkNoSecrets,
  checkStoreOrder,
  checkTokensIncrease,
  checkVectors,
  History,
  type HistoryEvent,
} from '../src/index.js';

const history = (events: HistoryEvent[]): History => {
  const h = new History();
  for (const e of events) h.add(e);
  return h;
};

/** Two lock sections of scope `s`: A (p1) from 0 to `aEnd`, B (p2) from `bStart`; one live effect of A at `effectAt`. */
function twoHolders(opts: { aEnd: number; aAbortedAt?: number; bStart: number; effectAt: number; effectLive?: boolean }): HistoryEvent[] {
  return [
    { k: 'section', id: 'A', proc: 'p1', scope: 's', token: 10, t: 0 },
    { k: 'section', id: 'B', proc: 'p2', scope: 's', token: 20, t: opts.bStart },
    { k: 'effect', of: 'A', proc: 'p1', t: opts.effectAt, live: opts.effectLive ?? true, what: 'write' },
    { k: 'section-end', id: 'A', proc: 'p1', t: opts.aEnd, outcome: 'ok', ...(opts.aAbortedAt === undefined ? {} : { abortedAt: opts.aAbortedAt }) },
    { k: 'section-end', id: 'B', proc: 'p2', t: opts.bStart + 1_000, outcome: 'ok' },
  ];
}

describe('lock exclusion (live effects)', () => {
  it('flags a live effect of the older holder while the newer one is live', () => {
    const v = checkLiveExclusion(history(twoHolders({ aEnd: 2_000, bStart: 1_000, effectAt: 1_500 })), 'section');
    expect(v).toHaveLength(1);
    expect(v[0]?.check).toBe('lock-exclusion');
    expect(v[0]?.message).toMatch(/A made a live effect/);
  });

  it('flags a live effect of the newer holder while the older one is still live (not aborted)', () => {
    const events: HistoryEvent[] = [
      { k: 'section', id: 'A', proc: 'p1', scope: 's', token: 10, t: 0 },
      { k: 'section', id: 'B', proc: 'p2', scope: 's', token: 20, t: 500 },
      { k: 'effect', of: 'B', proc: 'p2', t: 600, live: true, what: 'write' },
      { k: 'section-end', id: 'A', proc: 'p1', t: 2_000, outcome: 'ok' },
      { k: 'section-end', id: 'B', proc: 'p2', t: 700, outcome: 'ok' },
    ];
    expect(checkLiveExclusion(history(events), 'section')).toHaveLength(1);
  });

  it('accepts sequential sections, an effect after the abort, a dead (not live) effect, and different scopes', () => {
    expect(checkLiveExclusion(history(twoHolders({ aEnd: 900, bStart: 1_000, effectAt: 800 })), 'section')).toEqual([]);
    expect(checkLiveExclusion(history(twoHolders({ aEnd: 2_000, aAbortedAt: 950, bStart: 1_000, effectAt: 1_500, effectLive: false })), 'section')).toEqual([]);
    const other = twoHolders({ aEnd: 2_000, bStart: 1_000, effectAt: 1_500 }).map((e) => (e.k === 'section' && e.id === 'B' ? { ...e, scope: 't' } : e));
    expect(checkLiveExclusion(history(other), 'section')).toEqual([]);
  });

  it('exempts a holder whose process stalled (it could not run the timer that aborts it) and lock data lost by a fault', () => {
    const base = twoHolders({ aEnd: 2_000, bStart: 1_000, effectAt: 1_500 });
    expect(checkLiveExclusion(history([...base, { k: 'stall', proc: 'p1', kind: 'stop', t0: 200, t1: 1_400 }]), 'section')).toEqual([]);
    expect(checkLiveExclusion(history([...base, { k: 'fault', kind: 'restart', target: 'redis', t0: 300, t1: 400, loses: ['lock', 'queue'] }]), 'section')).toEqual([]);
    // A queue-data loss does not excuse a lock overlap.
    expect(checkLiveExclusion(history([...base, { k: 'fault', kind: 'x', target: 'redis', t0: 300, t1: 400, loses: ['queue'] }]), 'section')).toHaveLength(1);
  });

  it('a lease granted by an acquire sent before lock keys were deleted may have been deleted: that overlap is excused', () => {
    // Seen in the campaign (seed 275): A's acquire sent at 100, the keys deleted at 300-310, A's
    // fn started at 320 (its lease had been written just before the delete), B acquired at 400.
    const events = (requested: number): HistoryEvent[] => [
      { k: 'fault', kind: 'flush-lock-keys', target: 'redis', t0: 300, t1: 310, loses: ['lock'] },
      { k: 'section', id: 'A', proc: 'p1', scope: 's', token: 10, t: 320, requested },
      { k: 'section', id: 'B', proc: 'p2', scope: 's', token: 20, t: 400, requested: 390 },
      { k: 'effect', of: 'A', proc: 'p1', t: 450, live: true, what: 'write' },
    ];
    expect(checkLiveExclusion(history(events(100)), 'section')).toEqual([]);
    // A's acquire sent after the delete: the lock was not forgotten under it, so this is two holders.
    expect(checkLiveExclusion(history(events(315)), 'section')).toHaveLength(1);
  });

  it('a holder killed inside its section is live until its process exits', () => {
    const events: HistoryEvent[] = [
      { k: 'section', id: 'A', proc: 'p1', scope: 's', token: 10, t: 0 },
      { k: 'section', id: 'B', proc: 'p2', scope: 's', token: 20, t: 1_000 },
      { k: 'effect', of: 'B', proc: 'p2', t: 1_100, live: true, what: 'write' },
      { k: 'exit', proc: 'p1', t: 1_200, code: null, signal: 'SIGKILL', expected: 'killed' },
    ];
    expect(checkLiveExclusion(history(events), 'section')).toHaveLength(1);
    expect(checkLiveExclusion(history(events.map((e) => (e.k === 'exit' ? { ...e, t: 900 } : e))), 'section')).toEqual([]);
  });

  it('the same rule for job runs (per job id)', () => {
    const events: HistoryEvent[] = [
      { k: 'run', id: 'r1', proc: 'w1', queue: 'q', jobId: 'j', t: 0 },
      { k: 'run', id: 'r2', proc: 'w2', queue: 'q', jobId: 'j', t: 1_000 },
      { k: 'effect', of: 'r1', proc: 'w1', t: 1_500, live: true, what: 'chunk 3' },
      { k: 'run-end', id: 'r1', proc: 'w1', t: 2_000, ok: true },
      { k: 'run-end', id: 'r2', proc: 'w2', t: 3_000, ok: true },
    ];
    expect(checkLiveExclusion(history(events), 'run').map((v) => v.check)).toEqual(['job-exclusion']);
    const aborted = events.map((e) => (e.k === 'run-end' && e.id === 'r1' ? { ...e, abortedAt: 900 } : e)).map((e) => (e.k === 'effect' ? { ...e, live: false } : e));
    expect(checkLiveExclusion(history(aborted), 'run')).toEqual([]);
  });
});

describe('fencing', () => {
  it('tokens must strictly increase in section start order, across processes', () => {
    const ok: HistoryEvent[] = [
      { k: 'section', id: 'a', proc: 'p1', scope: 's', token: 5, t: 0 },
      { k: 'section', id: 'b', proc: 'p2', scope: 's', token: 1_796_000_000_000_001, t: 10 },
      { k: 'section', id: 'c', proc: 'p1', scope: 't', token: 1, t: 20 },
    ];
    expect(checkTokensIncrease(history(ok))).toEqual([]);
    const restarted: HistoryEvent[] = [...ok, { k: 'section', id: 'd', proc: 'p2', scope: 's', token: 1, t: 30 }];
    expect(checkTokensIncrease(history(restarted)).map((v) => v.message)).toEqual([expect.stringMatching(/d started after b but got token 1/)]);
  });

  it('the store never accepted a token lower than one it accepted before', () => {
    expect(checkStoreOrder(new Map([['s', [1, 2, 2, 9]]]))).toEqual([]);
    expect(checkStoreOrder(new Map([['s', [1, 9, 3]]]))).toHaveLength(1);
  });
});

describe('jobs', () => {
  const ran = (jobId: string, t: number, extra: { key?: string; seq?: number } = {}): HistoryEvent[] => [
    { k: 'run', id: `r-${jobId}-${t}`, proc: 'w', queue: 'q', jobId, t, ...extra },
    { k: 'run-end', id: `r-${jobId}-${t}`, proc: 'w', t: t + 1, ok: true },
  ];

  it('an acknowledged job without a successful run is lost, unless queue data was lost after the ack', () => {
    const events: HistoryEvent[] = [
      { k: 'ack', proc: 'producer', queue: 'q', jobId: 'j1', status: 'added', t: 0 },
      { k: 'ack', proc: 'producer', queue: 'q', jobId: 'j2', status: 'added', t: 5 },
      ...ran('j1', 10),
      { k: 'run', id: 'x', proc: 'w', queue: 'q', jobId: 'j2', t: 11 },
      { k: 'run-end', id: 'x', proc: 'w', t: 12, ok: false, error: 'boom' },
    ];
    expect(checkAckedJobsRan(history(events)).map((v) => v.message)).toEqual([expect.stringMatching(/q\/j2 was acknowledged/)]);
    expect(checkAckedJobsRan(history([...events, { k: 'fault', kind: 'flushall', target: 'redis', t0: 8, t1: 9, loses: ['queue', 'lock'] }]))).toEqual([]);
    // On a latest-wins queue a replaced job may never run by design (the latest-data check covers it).
    expect(checkAckedJobsRan(history(events), ['q'])).toEqual([]);
    // A loss before the ack excuses nothing.
    expect(checkAckedJobsRan(history([...events, { k: 'fault', kind: 'flushall', target: 'redis', t0: 1, t1: 2, loses: ['queue'] }]))).toHaveLength(1);
  });

  it('a loss that ended after the enqueue was sent excuses it, even when the ack is read after the loss ended', () => {
    // Seen in the campaign (seed 127): FLUSHALL sent while Redis was paused, an add sent then too;
    // on resume Redis ran the add, then FLUSHALL; the add's reply was read 1.7 ms after FLUSHALL's.
    const flush: HistoryEvent = { k: 'fault', kind: 'flushall', target: 'redis', t0: 100, t1: 200, loses: ['queue'] };
    const sentDuring: HistoryEvent = { k: 'ack', proc: 'producer', queue: 'q', jobId: 'j', status: 'added', t: 202, sent: 150 };
    expect(checkAckedJobsRan(history([flush, sentDuring]))).toEqual([]);
    // Sent after the loss had ended: it must run.
    const sentAfter: HistoryEvent = { k: 'ack', proc: 'producer', queue: 'q', jobId: 'j', status: 'added', t: 260, sent: 201 };
    expect(checkAckedJobsRan(history([flush, sentAfter]))).toHaveLength(1);
    // Latest data: the same rule for the last acknowledged call of a key.
    const lastSentDuring: HistoryEvent = { k: 'ack', proc: 'p', queue: 'd', jobId: 'd1', status: 'added', t: 202, sent: 150, key: 'k', seq: 1 };
    expect(checkLatestDataRunsLast(history([flush, lastSentDuring]), ['d'])).toEqual([]);
    expect(checkLatestDataRunsLast(history([flush, { ...lastSentDuring, sent: 201 }]), ['d'])).toHaveLength(1);
  });

  it('the last acknowledged data of a debounce key must be the data of its last successful run', () => {
    const acks: HistoryEvent[] = [
      { k: 'ack', proc: 'p', queue: 'q', jobId: 'd1', status: 'added', t: 0, key: 'k', seq: 1 },
      { k: 'ack', proc: 'p', queue: 'q', jobId: 'd1', status: 'replaced', t: 5, key: 'k', seq: 2 },
    ];
    expect(checkLatestDataRunsLast(history([...acks, ...ran('d1', 10, { key: 'k', seq: 2 })]), ['q'])).toEqual([]);
    expect(checkLatestDataRunsLast(history([...acks, ...ran('d1', 10, { key: 'k', seq: 2 }), ...ran('d2', 20, { key: 'k', seq: 1 })]), ['q'])).toHaveLength(1);
    expect(checkLatestDataRunsLast(history([...acks, ...ran('d1', 10, { key: 'k', seq: 1 })]), ['q'])).toHaveLength(1);
    // A newer seq (a later call whose acknowledgement was lost) running last is newer data: fine.
    expect(checkLatestDataRunsLast(history([...acks, ...ran('d1', 10, { key: 'k', seq: 3 })]), ['q'])).toEqual([]);
    expect(checkLatestDataRunsLast(history(acks), ['q'])[0]?.message).toMatch(/never ran/);
    const dropped: HistoryEvent[] = [...acks, { k: 'ack', proc: 'p', queue: 'q', jobId: 'd1', status: 'deduplicated', t: 7, key: 'k', seq: 3 }, ...ran('d1', 10, { key: 'k', seq: 2 })];
    expect(checkLatestDataRunsLast(history(dropped), ['q'])[0]?.message).toMatch(/deduplicated/);
    // A re-send of data that did run is not a drop.
    const resent: HistoryEvent[] = [...acks, ...ran('d1', 10, { key: 'k', seq: 2 }), { k: 'ack', proc: 'p', queue: 'q', jobId: 'd1', status: 'deduplicated', t: 20, key: 'k', seq: 2 }];
    expect(checkLatestDataRunsLast(history(resent), ['q'])).toEqual([]);
  });
});

describe('vectors, bounds, exits, secrets', () => {
  it('a wrong vector is a violation', () => {
    expect(checkVectors(history([{ k: 'vector', proc: 'w', t: 1, ok: true }]))).toEqual([]);
    expect(checkVectors(history([{ k: 'vector', proc: 'w', t: 1, ok: false, detail: 'text "a"' }]))).toHaveLength(1);
  });

  it('a bounded call over its bound (plus slack) is a violation unless its process stalled', () => {
    const call: HistoryEvent = { k: 'call', proc: 'w', op: 'enqueue', boundMs: 500, ms: 900, t: 0, ok: false, code: 'ENQUEUE_TIMEOUT' };
    expect(checkBounds(history([{ ...call, ms: 600 }]))).toEqual([]);
    expect(checkBounds(history([call]))).toHaveLength(1);
    expect(checkBounds(history([call, { k: 'stall', proc: 'w', kind: 'block', t0: 100_000, t1: 500_000 }]))).toEqual([]);
  });

  it('a process told to stop must exit by itself with 0 within its bound', () => {
    const exit = (code: number | null, signal: string | null, ms: number): HistoryEvent => ({
      k: 'exit',
      proc: 'w',
      t: ms * 1000,
      code,
      signal,
      expected: 'self',
      stopRequestedAt: 0,
      boundMs: 2_000,
    });
    expect(checkExits(history([exit(0, null, 1_000)]))).toEqual([]);
    expect(checkExits(history([exit(13, null, 1_000)]))).toHaveLength(1);
    expect(checkExits(history([exit(0, null, 5_000)]))).toHaveLength(1);
    expect(checkExits(history([{ ...exit(null, 'SIGKILL', 1_000), expected: 'killed' } as HistoryEvent]))).toEqual([]);
  });

  it('no secret appears in any output, raw or encoded', () => {
    const secret = 'p@ss w0rd/x';
    expect(checkNoSecrets([{ source: 'w1', text: 'connected to redis://***@127.0.0.1:6379' }], [secret])).toEqual([]);
    expect(checkNoSecrets([{ source: 'w1', text: `AUTH default ${secret}` }], [secret])).toHaveLength(1);
    expect(checkNoSecrets([{ source: 'w1', text: `redis://u:${encodeURIComponent(secret)}@h` }], [secret])[0]?.message).toMatch(/encoded/);
  });

  it('checkAll runs them all', () => {
    const v = checkAll({
      history: history(twoHolders({ aEnd: 2_000, bStart: 1_000, effectAt: 1_500 })),
      outputs: [{ source: 'x', text: 'hunter22' }],
      secrets: ['hunter22'],
    });
    expect(v.map((x) => x.check).sort()).toEqual(['lock-exclusion', 'secrets']);
  });
});
