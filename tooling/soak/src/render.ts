import { CHECKS } from '@lota/fault-harness';
import { found, SOAK_CHECKS, type Summary } from './analyze.js';
import { fmtDuration, fmtMs, fmtSigned, max, percentile } from './stats.js';

const pct = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : 'n/a');
const ok = (good: boolean): string => (good ? 'OK' : 'FAIL');

function latency(values: readonly number[]): string {
  return `p50 ${fmtMs(percentile(values, 50))}, p99 ${fmtMs(percentile(values, 99))}, max ${fmtMs(max(values))} (${values.length} calls)`;
}

function statuses(t: Summary['producer']['extraction']): string {
  const errors = [...t.errors.entries()].map(([k, v]) => `${v} ${k}`).join(', ');
  return `${t.byStatus.added} added, ${t.byStatus.deduplicated} deduplicated, ${t.byStatus.replaced} replaced; ${errors || '0 errors'}`;
}

/** The summary as aligned "label  value" lines: printed to stdout and put at the top of results/latest.md. */
export function summaryLines(s: Summary): string[] {
  const o = s.options;
  const p = s.producer;
  const rows: Array<[string, string]> = [];
  const add = (label: string, value: string) => rows.push([label, value]);
  const lost = found(s, 'acked-job-lost');
  const liveRuns = found(s, 'job-exclusion');
  const [holders, tokens, store] = [found(s, 'lock-exclusion'), found(s, 'fencing-tokens'), found(s, 'fenced-store')];
  const lockViolations = holders.length + tokens.length + store.length;
  const latest = found(s, 'latest-data');
  const exits = found(s, 'process-exit');
  const first = (list: ReadonlyArray<{ message: string }>, n: number): string => (list.length ? ` (${list.slice(0, n).map((v) => v.message).join('; ')}${list.length > n ? '; ...' : ''})` : '');
  const maxWindow = Math.max(0, ...s.memory.rows.map((r) => r.windowMin));

  add('result', s.passed ? 'PASS' : `FAIL${s.interrupted ? ' (interrupted)' : !s.drained ? ' (queues did not drain in time)' : ''}`);
  add('duration', `${fmtDuration(s.durationMs)} total: ${fmtDuration(s.produceMs)} producing + ${fmtDuration(s.drainMs)} draining`);
  add('setup', `${o.workers} workers (x${o.concurrency} extraction, x${Math.max(1, Math.floor(o.concurrency / 2))} digest), ${o.orgs} orgs x ${o.workstreams} workstreams, seed ${o.seed}`);
  add('turns sent', `${p.turns} turns + ${p.duplicatesAtOnce + p.duplicatesLater} re-sent (${p.duplicatesAtOnce} at once, ${p.duplicatesLater} later)`);
  add('extraction enqueues', statuses(p.extraction));
  add('digest schedules', statuses(p.digest));
  add('jobs acknowledged', `${s.acked} distinct memory-extraction jobIds`);
  const notDone = s.notCompleted.slice(0, 5).map((l) => `${l.jobId}: ${l.state}${l.reason ? ` "${l.reason}"` : ''}`);
  add(
    'jobs completed',
    `${s.completed} of ${s.acked}${s.completedByReconcile > 0 ? ` (${s.completedByReconcile} found completed by state, their event missed)` : ''}; ${s.digestRuns} digest runs` +
      (notDone.length ? `; NOT COMPLETED: ${notDone.join('; ')}${s.notCompleted.length > 5 ? '; ...' : ''}` : ''),
  );
  add('throughput', `${s.throughput.overall.toFixed(1)} jobs/s completed (${s.throughput.extractionOnly.toFixed(1)} extraction/s), first enqueue to last completion`);
  add('enqueue latency', `extraction ${latency(p.extraction.latencies)}`);
  add('', `digest     ${latency(p.digest.latencies)}`);
  add('', `extraction more than 3 s after any kill: ${latency(s.latencyAwayFromKills)}`);
  const d = s.diagnostics;
  const redisEvents = d.redisLatency.map((e) => `${e.event} max ${e.maxMs} ms`).join(', ');
  add('where slow calls come from', `driver event loop delay p99 ${fmtMs(d.loopDelayP99Ms)}, max ${fmtMs(d.loopDelayMaxMs)}; redis latency monitor (>= 50 ms): ${redisEvents || 'no events'}${d.redisLogWarnings.length ? `; redis log: ${d.redisLogWarnings.length} warning line(s)` : ''}`);
  add('worker kills', `${o.killEveryMs > 0 ? `${s.kills.length} SIGKILL (mean every ${fmtMs(o.killEveryMs)}, ${o.protect} protected), each replaced` : '0 (chaos off: --kill-every 0)'}; ${s.crashes.length} crashed on their own${s.crashes.length ? `: ${s.crashes.join(', ')}` : ''}`);
  add('stalled jobs recovered', `${s.stalled['memory-extraction']} extraction + ${s.stalled['memory-digest']} digest (BullMQ stalled events); ${s.interrupted_jobs.total} runs cut by a kill, ${s.interrupted_jobs.recovered} completed elsewhere`);
  add('jobs lost', `${lost.length}  ${ok(lost.length === 0)}${first(lost, 3)}`);
  add('failed for good', `${s.failedForGood.length}  ${ok(s.failedForGood.length === 0)}${s.failedForGood.length ? ` (${s.failedForGood.slice(0, 3).map((f) => `${f.queue} ${f.jobId}: ${f.reason}`).join('; ')})` : ''}`);
  add('duplicate runs', `${s.duplicates.extraRuns} extra successful runs of ${s.duplicates.jobs} jobs (at-least-once); two live runs of one job at once: ${liveRuns.length}  ${ok(liveRuns.length === 0)}${first(liveRuns, 2)}`);
  add('re-run jobs', `${s.reruns} jobs started more than once (stalled recoveries and retried attempts)`);
  const failed = [...s.failedAttempts.entries()].sort((a, b) => b[1] - a[1]);
  add('failed attempts', failed.length ? failed.slice(0, 4).map(([k, v]) => `${v} x ${k}`).join('; ') : '0');
  add('lock sections', `${s.sections.total} over ${s.sections.orgs} orgs (busiest org ${s.sections.perOrgMax}); ${s.sections.closedByDeath} ended by their holder's SIGKILL (${s.kills.filter((k) => k.inSection).length} of ${s.kills.length} kills landed inside one); ${s.sections.stillOpen} left open by a live holder`);
  add(
    'lock overlaps',
    `${lockViolations}  ${ok(lockViolations === 0)} (live effect while another holder was live: ${holders.length}; fencing tokens out of order: ${tokens.length}; store accepted out of order: ${store.length})${first([...holders, ...tokens, ...store], 1)}`,
  );
  add('fenced writes', `${s.fence.accepted} accepted, ${s.fence.refused} refused (stale token), ${s.fence.added} memories added`);
  add('digest latest data', `${s.digestKeys - latest.length} of ${s.digestKeys} workstreams ran the data of their last acknowledged schedule (or newer) last${first(latest, 3)}`);
  const c = s.cache;
  const vectors = found(s, 'vectors');
  add(
    'embedding cache',
    `${pct(c.hits, c.hits + c.misses)} hit rate (${c.hits} hits, ${c.memoryHits} from process memory; ${c.misses} misses; ${c.providerCalls} provider calls; ${c.errors} errors; last report per process); ` +
      `wrong vectors: ${vectors.length}  ${ok(vectors.length === 0)}${first(vectors, 1)}`,
  );
  const judged = s.memory.rows.filter((r) => r.verdict !== 'too short');
  add('memory growth', judged.length ? judged.map((r) => `${r.name} ${fmtSigned(r.heapSlopePerMin)} MB/min heap (${fmtSigned(r.rssPerMin)} rss) over ${r.windowMin.toFixed(1)} min`).join('; ') : `no worker judged (longest window after warm-up ${maxWindow.toFixed(1)} min)`);
  add('memory verdict', `${s.memory.ok ? 'OK' : 'CHECK'}: ${s.memory.verdict}`);
  const codes = Object.entries(s.shutdown.exitCodes).map(([code, n]) => `${n} x ${/^\d+$/.test(code) ? `exit ${code}` : code}`).join(', ');
  add('worker shutdown', `${s.shutdown.stopped} told to stop at the end: ${codes || 'none'}; slowest ${fmtMs(s.shutdown.slowestMs)}${exits.length ? `; ${exits.length} EXIT PROBLEM(S)${first(exits, 3)}` : ''}`);
  const logs = s.logCounts.filter(([k]) => !k.startsWith('info ')).slice(0, 4);
  add('worker log', `${logs.map(([k, v]) => `${v} x ${k}`).join('; ') || 'no warnings or errors'}${s.logRaw ? `; ${s.logRaw} non-JSON lines` : ''}`);

  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

function table(head: string[], body: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)];
}

const n1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

/** results/latest.md: the summary, then the tables behind it. */
export function markdown(s: Summary, header: string, lines: readonly string[]): string {
  const out: string[] = ['# Soak results', '', header, '', '```', 'Summary', ...lines, '```', ''];
  out.push('## Memory per worker process', '');
  out.push(
    `heapUsed is sampled right after a forced full GC (\`--expose-gc\`), every ${s.options.memorySampleMs / 1_000} s; samples in the first ${s.options.warmupMs / 1_000} s after a worker is ready are ignored. ` +
      '"fitted" is the least-squares slope, "first→last" the difference over the window. A worker is judged after at least 1 minute of samples.',
    '',
  );
  out.push(
    ...table(
      ['worker', 'slot', 'fate', 'lived', 'samples', 'window', 'heap first→last MB', 'heap MB/min (first→last / fitted)', 'rss first→last MB', 'rss MB/min', 'verdict'],
      s.memory.rows.map((r) => [
        `${r.name}${r.protected ? ' (protected)' : ''}`,
        String(r.slot),
        r.fate,
        `${r.lifetimeS.toFixed(0)} s`,
        String(r.samples),
        `${r.windowMin.toFixed(1)} min`,
        `${n1(r.heapFirstMB)} → ${n1(r.heapLastMB)}`,
        `${fmtSigned(r.heapPerMin)} / ${fmtSigned(r.heapSlopePerMin)}`,
        `${n1(r.rssFirstMB)} → ${n1(r.rssLastMB)}`,
        fmtSigned(r.rssPerMin),
        r.verdict,
      ]),
    ),
    '',
  );
  out.push('Across the run (post-warm-up samples of every live worker, averaged per minute):', '');
  out.push(...table(['minute', 'workers sampled', 'mean heapUsed MB', 'mean rss MB'], s.memory.minutes.map((m) => [String(m.minute), String(m.workers), n1(m.heapMB), n1(m.rssMB)])), '');
  out.push('## Kills', '');
  out.push(
    ...(s.kills.length
      ? table(
          ['at', 'victim', 'jobs cut', 'inside a lock section', 'its last section ended', 'replacement'],
          s.kills.map((k) => [
            `${(k.at / 1_000).toFixed(1)} s`,
            k.victim,
            String(k.jobsInFlight),
            k.inSection ? 'yes' : 'no',
            k.lastSectionEndedMsBefore === undefined ? 'n/a' : `${fmtMs(k.lastSectionEndedMsBefore)} before death`,
            k.replacement,
          ]),
        )
      : ['none']),
    '',
  );
  out.push('## Slowest enqueues', '');
  out.push(
    ...table(
      ['call', 'latency', 'at', 'since the last kill'],
      s.slowEnqueues.map((e) => [e.kind, fmtMs(e.ms), `${e.atS.toFixed(1)} s`, e.sinceKillS === undefined ? 'no kill yet' : `${e.sinceKillS.toFixed(1)} s`]),
    ),
    '',
  );
  if (s.diagnostics.redisLogWarnings.length) {
    out.push('Redis log warnings:', '', '```', ...s.diagnostics.redisLogWarnings.slice(0, 20), '```', '');
  }
  out.push('## Guarantees (checks of @lota/fault-harness on the history)', '');
  out.push(
    ...table(
      ['check', 'violations', 'first ones'],
      CHECKS.map((check) => {
        if (!SOAK_CHECKS.has(check)) return [check, 'n/a', 'the soak records no events for it'];
        const list = found(s, check);
        return [check, String(list.length), list.slice(0, 5).map((v) => v.message.replace(/\|/g, '\\|')).join('<br>') || '-'];
      }),
    ),
    '',
    `Lock sections: ${s.sections.total} over ${s.sections.orgs} orgs. Every event behind these checks (sections, effects, runs, acknowledgements, kills, exits): \`results/latest-history.jsonl\`.`,
    '',
  );
  const failed = [...s.failedAttempts.entries()].sort((a, b) => b[1] - a[1]);
  out.push('## Failed attempts (retried unless listed as failed for good)', '');
  out.push(...(failed.length ? table(['count', 'reason'], failed.map(([k, v]) => [String(v), k.replace(/\|/g, '\\|')])) : ['none']), '');
  out.push('## Worker log (warn and error lines, by message)', '');
  const logs = s.logCounts.filter(([k]) => !k.startsWith('info '));
  out.push(...(logs.length ? table(['count', 'level and message'], logs.map(([k, v]) => [String(v), k.replace(/\|/g, '\\|')])) : ['none']), '');
  if (s.notCompleted.length) {
    out.push('## Acknowledged jobs BullMQ did not complete', '', ...table(['jobId', 'state now', 'reason'], s.notCompleted.map((l) => [l.jobId, l.state, l.reason])), '');
  }
  return out.join('\n');
}
