import type { History } from '../history.js';
import type { Violation } from './violation.js';

/**
 * How late a bounded call may settle on a busy machine and still count as within its bound:
 * timers fire late when the CPU is shared (here, up to a dozen processes on two cores), so the
 * check allows this much on top of the bound.
 */
export interface BoundSlack {
  /** @defaultValue 150 */
  ms: number;
  /** A share of the bound. @defaultValue 0.25 */
  ratio: number;
}

/**
 * Every bounded call (connect, enqueue, lock wait, disconnect, close) settled within its bound
 * (plus the slack), unless its own process stalled during it (a stopped or blocked process cannot
 * run the timer that bounds the call).
 */
export function checkBounds(history: History, slack: BoundSlack = { ms: 150, ratio: 0.25 }): Violation[] {
  const violations: Violation[] = [];
  for (const c of history.of('call')) {
    const allowed = c.boundMs + Math.max(slack.ms, c.boundMs * slack.ratio);
    if (c.ms <= allowed) continue;
    if (history.stalled(c.proc, c.t, c.t + c.ms * 1000)) continue;
    violations.push({ check: 'bounded-calls', message: `${c.proc}: ${c.op} took ${Math.round(c.ms)} ms, bound ${c.boundMs} ms (${c.ok ? 'ok' : `failed${c.code ? ` ${c.code}` : ''}`})` });
  }
  return violations;
}
