import type { History } from '../history.js';
import type { Violation } from './violation.js';

/**
 * Fencing tokens strictly increase per scope: in the order the sections started, every token
 * is larger than every earlier one, across processes, lock instances and faults (a restart
 * without persistence, FLUSHALL, deleted keys and failovers included: tokens come from the
 * server clock when the counter is gone).
 */
export function checkTokensIncrease(history: History): Violation[] {
  const byScope = new Map<string, Array<{ id: string; token: number; t: number }>>();
  for (const s of history.of('section')) {
    const list = byScope.get(s.scope) ?? [];
    list.push({ id: s.id, token: s.token, t: s.t });
    byScope.set(s.scope, list);
  }
  const violations: Violation[] = [];
  for (const [scope, list] of byScope) {
    list.sort((a, b) => a.t - b.t);
    let max = { id: '', token: Number.NEGATIVE_INFINITY };
    for (const s of list) {
      if (!Number.isSafeInteger(s.token)) violations.push({ check: 'fencing-tokens', message: `scope ${scope}: ${s.id} got fencing token ${s.token}, not a safe integer` });
      if (s.token <= max.token) {
        violations.push({ check: 'fencing-tokens', message: `scope ${scope}: ${s.id} started after ${max.id} but got token ${s.token} <= ${max.token}` });
      }
      if (s.token > max.token) max = { id: s.id, token: s.token };
    }
  }
  return violations;
}

/**
 * A fenced store never accepts an out-of-order token: per scope, the tokens the store accepted,
 * in the order it accepted them, never go down. (`accepted`: the store's own log, see
 * fenced-store.ts.)
 */
export function checkStoreOrder(accepted: ReadonlyMap<string, readonly number[]>): Violation[] {
  const violations: Violation[] = [];
  for (const [scope, tokens] of accepted) {
    for (let i = 1; i < tokens.length; i++) {
      const [prev, cur] = [tokens[i - 1] ?? 0, tokens[i] ?? 0];
      if (cur < prev) violations.push({ check: 'fenced-store', message: `scope ${scope}: the store accepted token ${cur} after ${prev}` });
    }
  }
  return violations;
}
