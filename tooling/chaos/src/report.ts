import type { CampaignReport } from './campaign.js';

/** The campaign report as Markdown (written next to the bench results by the long run). */
export function renderReport(r: CampaignReport, command: string): string {
  const lines = [
    '# Fault campaign',
    '',
    `Run ${new Date().toISOString()} · node ${process.version} · \`${command}\` · ${(r.durationMs / 60_000).toFixed(1)} min`,
    '',
    `**${r.results.length} schedules, ${r.violations.length} violations**${r.errors.length ? `, ${r.errors.length} schedules could not run` : ''}.`,
    '',
    '## Faults injected',
    '',
    '| fault | count |',
    '| --- | ---: |',
    ...Object.entries(r.faults)
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([k, n]) => `| ${k} | ${n} |`),
    '',
    '## What was checked',
    '',
    `Invariants, on every schedule's history: ${r.checks.map((c) => `\`${c}\``).join(', ')}.`,
    '',
    '| recorded | count |',
    '| --- | ---: |',
    `| lock sections | ${r.totals.sections} |`,
    `| job runs | ${r.totals.runs} |`,
    `| acknowledged enqueues | ${r.totals.acks} |`,
    `| effects (writes, chunks) | ${r.totals.effects} |`,
    `| bounded calls | ${r.totals.calls} |`,
    `| stalls (SIGSTOP, blocked loops) | ${r.totals.stalls} |`,
    `| worker processes | ${r.totals.processes} |`,
    '',
    '## Violations',
    '',
    ...(r.violations.length === 0
      ? ['None.']
      : ['| seed | check | what |', '| ---: | --- | --- |', ...r.violations.map((v) => `| ${v.seed} | ${v.check} | ${v.message.replace(/\|/g, '\\|')} |`)]),
    '',
    ...(r.errors.length ? ['## Schedules that could not run', '', ...r.errors.map((e) => `- seed ${e.seed}: ${e.error.split('\n')[0] ?? ''}`), ''] : []),
    'Replay one schedule with `pnpm chaos --schedules 1 --seed <seed>`.',
    '',
  ];
  return lines.join('\n');
}
