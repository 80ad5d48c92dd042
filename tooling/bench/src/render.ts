import type { Row } from './types.js';

function formatNumber(value: number, unit: string): string {
  if (Number.isNaN(value)) return 'not available';
  if (value === Number.POSITIVE_INFINITY) return '∞';
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${text} ${unit}`;
}

/** Says in words which side wins: "ours 4.2% worse", "ours 12% better", "same". */
export function verdict(row: Row): string {
  if (!Number.isFinite(row.ratio)) return 'n/a';
  const change = row.ratio - 1;
  if (Math.abs(change) < 0.005) return 'same';
  const oursBetter = row.better === 'higher' ? change > 0 : change < 0;
  const pct = Math.abs(change) * 100;
  return `ours ${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}% ${oursBetter ? 'better' : 'worse'}`;
}

const escape = (text: string): string => text.replaceAll('|', '\\|');

/** One markdown table of every row. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['suite', 'case', 'metric', 'ours', 'anchor', 'anchor value', 'ours / anchor', 'better when', 'verdict', 'goal', 'ok'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((h) => (h === 'ours' || h === 'anchor value' || h === 'ours / anchor' ? '---:' : '---')).join(' | ')} |`];
  for (const r of rows) {
    const cells = [
      r.suite,
      r.case,
      r.metric,
      formatNumber(r.value, r.unit),
      r.anchorName,
      formatNumber(r.anchorValue, r.unit),
      Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : 'n/a',
      `${r.better} is better`,
      verdict(r),
      r.goal ?? '',
      r.ok === undefined ? '' : r.ok ? 'yes' : 'NO',
    ];
    lines.push(`| ${cells.map(escape).join(' | ')} |`);
  }
  return lines.join('\n');
}
