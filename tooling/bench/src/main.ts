import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInfo, withAdmin, type RedisServer } from '@lota/redis-testkit';
import { renderTable } from './render.js';
import { msSince } from './stats.js';
import { SUITES } from './suites.js';
import type { BenchContext, Row } from './types.js';

const RESULTS = fileURLToPath(new URL('../results/latest.md', import.meta.url));

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const log = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);

async function main(): Promise<number> {
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = asked.filter((name) => !(name in SUITES));
  if (unknown.length > 0) {
    log(`unknown suite(s): ${unknown.join(', ')}. Known: ${Object.keys(SUITES).join(', ')}.`);
    return 2;
  }
  const names = asked.length > 0 ? asked : Object.keys(SUITES);
  const servers = new Set<string>();
  const ctx: BenchContext = {
    log,
    async noteServer(server: RedisServer) {
      const info = await withAdmin(server, async (admin) => parseInfo(await admin.info('server')));
      servers.add(`redis-server ${info.redis_version ?? '?'} (${server.backend})`);
    },
  };

  const started = process.hrtime.bigint();
  const rows: Row[] = [];
  const extras: string[] = [];
  const failed: string[] = [];
  for (const name of names) {
    const run = SUITES[name];
    if (!run) continue;
    log(`suite ${name}`);
    const t0 = process.hrtime.bigint();
    try {
      const result = await run(ctx);
      if (Array.isArray(result)) {
        rows.push(...result);
      } else {
        rows.push(...result.rows);
        if (result.extraMarkdown) extras.push(result.extraMarkdown);
      }
      log(`suite ${name} done in ${(msSince(t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed.push(name);
      log(`suite ${name} could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const header =
    `Run ${new Date().toISOString()} · node ${process.version} · ${[...servers].join(', ') || 'no redis-server'} · ` +
    `${availableParallelism()} CPUs (${cpu}) · suites: ${names.join(', ')} · ${(msSince(started) / 1000).toFixed(0)} s`;
  const markdown = [
    '# Benchmark results',
    '',
    header,
    '',
    renderTable(rows),
    '',
    'ours / anchor = our value divided by the anchor\'s; "better when" says which direction wins for that metric.',
    'Throughput and latency are the median of the repetitions (ours and the anchor alternate). Numbers are reported, never asserted.',
    ...(failed.length > 0 ? ['', `Suites that could not run: ${failed.join(', ')} (see the log).`] : []),
    ...extras.flatMap((extra) => ['', extra]),
    '',
  ].join('\n');

  out('');
  out(markdown);
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, markdown);
  out(`results written to ${RESULTS}`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
