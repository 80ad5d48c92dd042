import type { History, Loss } from '../history.js';
import type { Violation } from './violation.js';

/** A section or run: who, when, and until when its signal was live. */
interface Holder {
  id: string;
  proc: string;
  group: string;
  start: number;
  /** When the acquire that granted it was sent (sections; `start` for runs and when unknown). */
  requested: number;
  /** When it stopped being live: its signal aborted, its `fn` settled, or its process died. */
  liveEnd: number;
}

function holders(history: History, kind: 'section' | 'run'): Map<string, Holder[]> {
  const ends = new Map<string, { t: number; abortedAt?: number | undefined }>();
  for (const e of history.of(kind === 'section' ? 'section-end' : 'run-end')) ends.set(e.id, { t: e.t, abortedAt: e.abortedAt });
  const out = new Map<string, Holder[]>();
  const starts =
    kind === 'section'
      ? history.of('section').map((s) => ({ id: s.id, proc: s.proc, group: s.scope, t: s.t, requested: s.requested ?? s.t }))
      : history.of('run').map((r) => ({ id: r.id, proc: r.proc, group: `${r.queue}/${r.jobId}`, t: r.t, requested: r.t }));
  for (const s of starts) {
    const end = ends.get(s.id);
    const liveEnd = Math.min(end?.t ?? history.exitOf(s.proc), end?.abortedAt ?? Number.POSITIVE_INFINITY);
    const list = out.get(s.group) ?? [];
    list.push({ id: s.id, proc: s.proc, group: s.group, start: s.t, requested: s.requested, liveEnd });
    out.set(s.group, list);
  }
  return out;
}

/**
 * Mutual exclusion with live signals, for lock sections (per scope) or job runs (per job): no
 * live effect of one holder happens while another holder of the same scope/job is live.
 *
 * "Live" is the signal's view: a holder is live from the start of its `fn` until its signal
 * aborts (or `fn` settles, or its process dies); an effect is live when the signal had not
 * aborted when it was sent. What the guarantee cannot cover is exempt: a process that was
 * stopped or had its event loop blocked (a stall) between the older holder's start and the
 * effect cannot have run the timer that aborts it; and a fault that made Redis forget the lock
 * (restart without persistence, deleted keys, failover) lets a second holder in by design,
 * which fencing then covers (see fencing.ts); that includes a lease granted by an acquire sent
 * before such a fault ended (it may have been written just before the keys were deleted).
 */
export function checkLiveExclusion(history: History, kind: 'section' | 'run'): Violation[] {
  const loss: Loss = kind === 'section' ? 'lock' : 'queue';
  const byGroup = holders(history, kind);
  const byId = new Map<string, Holder>();
  for (const list of byGroup.values()) for (const h of list) byId.set(h.id, h);
  const violations: Violation[] = [];
  const seen = new Set<string>();
  for (const e of history.of('effect')) {
    if (!e.live) continue;
    const a = byId.get(e.of);
    if (!a) continue;
    for (const b of byGroup.get(a.group) ?? []) {
      if (b.id === a.id) continue;
      if (!(b.start <= e.t && e.t <= b.liveEnd)) continue;
      const from = Math.min(a.start, b.start);
      if (history.stalled(a.proc, from, e.t) || history.stalled(b.proc, from, e.t)) continue;
      // A loss that ended after either acquire was sent may have deleted that holder's lease.
      if (history.lossBetween(loss, Math.min(a.requested, b.requested), e.t)) continue;
      const pair = [a.id, b.id].sort().join('|');
      if (seen.has(pair)) continue;
      seen.add(pair);
      violations.push({
        check: kind === 'section' ? 'lock-exclusion' : 'job-exclusion',
        message: `${kind === 'section' ? 'scope' : 'job'} ${a.group}: ${a.id} made a live effect (${e.what}) at ${e.t} µs while ${b.id} was live (started ${b.start} µs, live until ${Number.isFinite(b.liveEnd) ? `${b.liveEnd} µs` : 'the end'}), and neither process had stalled`,
      });
    }
  }
  return violations;
}
