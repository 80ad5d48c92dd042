/** One contention run of one config: in this process, or over two child processes (children.ts). */
import { contendInTwoProcesses } from './children.js';
import type { LockConfig } from './configs.js';
import { contend, wallMs, warmUp } from './contend.js';
import { serverCommands, serverDelta, type Env } from './env.js';
import { CAP_MS, DRAIN_MS, HOLD_MS, SECTIONS, START_DELAY_MS, summarize, type ContentionStats, type Scenario } from './scenarios.js';

async function contendInProcess(env: Env, config: LockConfig, contenders: number): Promise<ContentionStats> {
  const locker = await config.create(env.client);
  try {
    await warmUp(locker);
    const server0 = await serverCommands(env);
    let server1: Promise<number> | undefined;
    const startAt = wallMs() + START_DELAY_MS;
    const result = await contend(locker, {
      contenders,
      sections: SECTIONS,
      holdMs: HOLD_MS,
      startAt,
      deadline: startAt + CAP_MS,
      drainMs: DRAIN_MS,
      onWindowClose: () => {
        server1 = serverCommands(env);
      },
    });
    if (!server1) throw new Error('the contention window never closed');
    return summarize([result], startAt, serverDelta(server0, await server1));
  } finally {
    await locker.close();
  }
}

export async function contention(env: Env, config: LockConfig, scenario: Scenario): Promise<ContentionStats> {
  await env.admin.flushall();
  const stats =
    scenario.processes === 1 ? await contendInProcess(env, config, scenario.contenders) : await contendInTwoProcesses(env, config, scenario.contenders);
  env.ctx.log(
    `  ${config.id.padEnd(30)} ${stats.perSec.toFixed(0).padStart(5)} sections/s, wait p99 ${stats.waitP99ms.toFixed(1)} ms, max ${stats.waitMaxMs.toFixed(0)} ms, ` +
      `done ${stats.minDone}-${stats.maxDone}, ${stats.clientCmdsPerSection.toFixed(1)} cmds/section, ${stats.failures} failed, ${stats.overlaps} overlaps`,
  );
  if (stats.undrained > 0) env.ctx.log(`  WARNING: ${config.id}: ${stats.undrained} contenders still inside an acquisition ${DRAIN_MS} ms after the cap`);
  if (stats.releaseErrors > 0 || stats.overlaps > 0) env.ctx.log(`  NOTE: ${config.id}: ${stats.releaseErrors} release errors; errors seen: ${stats.errorSamples.join(' | ')}`);
  return stats;
}
