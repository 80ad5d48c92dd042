/**
 * @lota/org-lock against the popular Redis locks (redlock 4, redlock 5, the sesamecare fork of
 * redlock 5, redis-semaphore's Mutex), each peer with its default settings and with its most
 * aggressive retry settings, on one private redis-server, in one run.
 *
 * Fairness rules: every config locks one resource with a 30 s TTL through one shared ioredis
 * client per process (the repo's ioredis); the database is flushed before every case; the
 * critical section holds the lock ~1 ms (`await setTimeout(1)`) then releases.
 *
 * - Uncontended: one caller, N sequential acquire+release with an empty section (so timer
 *   granularity does not drown the lock's own cost), after a warm-up; the configs take turns in
 *   rounds of 100 calls (rotating order), so machine noise hits them alike.
 * - Contention: K contenders on one scope, each wanting SECTIONS sections, in this process or
 *   split over two child processes (`dist/lock-child.js`) started together on a wall-clock
 *   barrier; each run is capped at CAP_MS. One run per config and scenario.
 *
 * Redis work is counted twice: commands the clients send (`installCommandCounter`, the round
 * trips: EVALSHA = 1) and the server's `total_commands_processed` delta, which on Redis 7 also
 * counts each `redis.call()` inside a Lua script.
 */
import { excludeFromCount, installCommandCounter } from './command-counter.js';
import { CONFIGS, loadOurs, TTL_MS } from './configs.js';
import { contention } from './contention.js';
import { errorText, type Env } from './env.js';
import { contentionRows, correctnessRow, peerTables, uncontendedRows, withoutVerdictWhenMissing, type Measured } from './report.js';
import { CAP_MS, CONTENDERS, PROCESSES, scenarioName, SECTIONS, type ContentionStats, type Scenario } from './scenarios.js';
import { uncontended } from './uncontended.js';
import { withBenchRedis } from '../server.js';
import type { BenchContext, SuiteResult } from '../types.js';

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  installCommandCounter();
  const loaded = await loadOurs();
  const oursMissing = loaded instanceof Error ? loaded.message : undefined;
  if (oursMissing !== undefined) ctx.log(`WARNING: @lota/org-lock cannot be loaded (${oursMissing}); our rows will say "not available"`);
  const configs = CONFIGS.filter((c) => !c.ours || oursMissing === undefined);
  const peers = CONFIGS.filter((c) => !c.ours);

  return withBenchRedis(ctx, async ({ url, client, admin }) => {
    excludeFromCount(admin);
    const env: Env = { ctx, url, client, admin };
    ctx.log(`configs: ${configs.map((c) => c.id).join(', ')}; TTL ${TTL_MS} ms`);

    const measured: Measured = { uncontended: await uncontended(env, configs), contention: [], ...(oursMissing === undefined ? {} : { oursMissing }) };
    for (const processes of PROCESSES) {
      for (const contenders of CONTENDERS) {
        const scenario: Scenario = { contenders, processes };
        ctx.log(`contention: ${scenarioName(scenario)}, ${SECTIONS} sections each, cap ${CAP_MS} ms`);
        const stats = new Map<string, ContentionStats>();
        for (const config of configs) {
          try {
            stats.set(config.id, await contention(env, config, scenario));
          } catch (err) {
            ctx.log(`  ${config.id}: could not run: ${errorText(err)}`);
          }
        }
        measured.contention.push({ scenario, stats });
      }
    }

    const rows = [...uncontendedRows(measured, peers)];
    for (const { scenario, stats } of measured.contention) rows.push(...contentionRows(scenario, stats, peers));
    rows.push(correctnessRow(measured));
    return { rows: rows.map(withoutVerdictWhenMissing), extraMarkdown: peerTables(measured, CONFIGS) };
  });
}
