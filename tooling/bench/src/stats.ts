import type { Row } from './types.js';

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Milliseconds since `start` (from `process.hrtime.bigint()`). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

type RowInput = Omit<Row, 'ratio' | 'ok'> & { goal?: string };

/**
 * Builds a row with its ratio (ours / anchor). Goals are relative: `maxOverhead` 0.10 means ours
 * may be up to 10% worse than the anchor in the metric's good direction.
 */
export function row(input: RowInput, maxOverhead?: number): Row {
  const ratio = input.anchorValue === 0 ? (input.value === 0 ? 1 : Number.POSITIVE_INFINITY) : input.value / input.anchorValue;
  const out: Row = { ...input, ratio };
  if (maxOverhead !== undefined) {
    out.ok = input.better === 'higher' ? ratio >= 1 - maxOverhead : ratio <= 1 + maxOverhead;
  }
  return out;
}
