import type { History } from '../history.js';
import type { Violation } from './violation.js';

/**
 * Every process told to stop exits by itself (no `process.exit`, no signal from outside), with
 * code 0, within its bound: nothing is left holding its event loop.
 */
export function checkExits(history: History, slackMs = 500): Violation[] {
  const violations: Violation[] = [];
  for (const e of history.of('exit')) {
    if (e.expected !== 'self') continue;
    if (e.code !== 0 || e.signal !== null) {
      const how = e.stopRequestedAt === undefined ? 'exited by itself' : 'was told to stop and ended';
      violations.push({ check: 'process-exit', message: `${e.proc} ${how} with code ${String(e.code)}, signal ${String(e.signal)}` });
      continue;
    }
    if (e.stopRequestedAt !== undefined && e.boundMs !== undefined) {
      const ms = (e.t - e.stopRequestedAt) / 1000;
      if (ms > e.boundMs + slackMs) violations.push({ check: 'process-exit', message: `${e.proc} took ${Math.round(ms)} ms to exit after being told to stop (bound ${e.boundMs} ms)` });
    }
  }
  return violations;
}
