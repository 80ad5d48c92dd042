import type { HostStatsSnapshot } from '../host-stats.js';

/** Nearest-rank percentile of `values` (sorted ascending), `p` in (0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

type Tally = Record<'added' | 'deduplicated' | 'replaced', number>;

/** Everything the summary table shows, gathered by the demo. */
export interface DemoResults {
  requests: number;
  uniqueTurns: number;
  duplicates: number;
  httpErrors: number;
  turnsRecorded: number;
  extraction: Tally;
  digest: Tally;
  stats: HostStatsSnapshot;
  memoriesPerOrg: Record<string, number>;
  lockWaitsMs: number[];
  probe: { token: number; lastAccepted: number; refused: boolean };
  refusedByWorkers: number;
  exits: Array<{ name: string; code: number; ms: number }>;
  drained: boolean;
  seconds: number;
}

const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`;
const ok = (good: boolean) => (good ? 'OK' : 'FAILED');

/** The summary as lines of a two-column table. */
export function formatSummary(r: DemoResults): string[] {
  const ext = r.stats.jobs['memory-extraction'] ?? { completed: 0, retried: 0, failed: 0 };
  const dig = r.stats.jobs['memory-digest'] ?? { completed: 0, retried: 0, failed: 0 };
  const waits = [...r.lockWaitsMs].sort((a, b) => a - b);
  const maxHolders = Math.max(0, ...Object.values(r.stats.maxHolders));
  const memories = Object.values(r.memoriesPerOrg).reduce((a, b) => a + b, 0);
  const { hits, misses, memoryHits, coalesced } = r.stats.cache;
  const looked = hits + misses;
  const hitRate = looked === 0 ? 0 : (100 * hits) / looked;
  const perOrg = (m: Record<string, number>) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([org, n]) => `${org} ${n}`)
      .join(', ');
  const rows: Array<[string, string]> = [
    ['turns sent', `${r.requests} POST /turns: ${r.uniqueTurns} turns + ${r.duplicates} re-sent turnIds (${r.requests - r.httpErrors} accepted, ${r.httpErrors} errors); ${r.turnsRecorded} recorded`],
    ['memory-extraction enqueues', `${r.extraction.added} added, ${r.extraction.deduplicated} deduplicated, ${r.extraction.replaced} replaced`],
    ['memory-digest schedules', `${r.digest.added} added, ${r.digest.replaced} debounced (replaced), ${r.digest.deduplicated} deduplicated`],
    ['jobs run', `extraction ${ext.completed} completed / ${ext.retried} retried / ${ext.failed} failed; digest ${dig.completed} runs (${r.digest.added + r.digest.replaced + r.digest.deduplicated} schedules)`],
    ['memories stored', `${memories} (${perOrg(r.memoriesPerOrg)})`],
    ['org lock waits', `${waits.length} waits: p50 ${fmtMs(percentile(waits, 50))}, p99 ${fmtMs(percentile(waits, 99))}, max ${fmtMs(waits.at(-1) ?? 0)}`],
    ['max concurrent holders per org', `${maxHolders} (${perOrg(r.stats.maxHolders)})  ${ok(maxHolders === 1)}`],
    ['embedding calls', `${r.stats.cache.requests} requests: ${r.stats.provider.calls} provider calls made, ${Math.max(0, r.stats.cache.requests - r.stats.provider.calls)} saved (every text cached)`],
    ['embedding texts', `${r.stats.provider.texts} embedded by the provider, ${hits} saved by the cache (${memoryHits} from process memory, ${hits - memoryHits} from Redis)${coalesced > 0 ? `, ${coalesced} shared a call in flight` : ''}`],
    ['embedding cache hit rate', `${hitRate.toFixed(1)}% (${hits} hits / ${looked} text lookups)`],
    ['fenced writes refused', `${r.refusedByWorkers} by workers; stale-token probe (token ${r.probe.token} < last accepted ${r.probe.lastAccepted}): ${r.probe.refused ? 'refused' : 'ACCEPTED'}  ${ok(r.probe.refused)}`],
    ['queues drained', r.drained ? 'yes' : 'NO (timed out)'],
    ['shutdown (SIGTERM)', r.exits.map((e) => `${e.name} exit ${e.code} (${(e.ms / 1000).toFixed(1)} s)`).join(', ')],
    ['time taken', `${r.seconds.toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

/** True when the run proved what it should: drained, mutual exclusion held, fence works, clean exits. */
export function demoPassed(r: DemoResults): boolean {
  const maxHolders = Math.max(0, ...Object.values(r.stats.maxHolders));
  return r.drained && maxHolders === 1 && r.probe.refused && r.httpErrors === 0 && r.exits.every((e) => e.code === 0);
}
