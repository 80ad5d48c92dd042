/**
 * @lota/queues against raw BullMQ, on one private redis-server, in one process, in one run
 * (fairness rules: sides.ts).
 */
import { withBenchRedis } from '../server.js';
import type { BenchContext, Row } from '../types.js';
import { bulkAdd, dedupedAdd, singleAdd } from './adds.js';
import { connections } from './connections.js';
import { PROCESSING, processingCase } from './processing.js';
import type { Env } from './sides.js';

export async function run(ctx: BenchContext): Promise<Row[]> {
  return withBenchRedis(ctx, async ({ url, client, admin }) => {
    const env: Env = { ctx, url, connection: client, admin, adminId: await admin.client('ID') };
    const rows: Row[] = [];
    rows.push(...(await singleAdd(env)));
    rows.push(...(await dedupedAdd(env)));
    rows.push(...(await bulkAdd(env)));
    for (const { concurrency, jobs } of PROCESSING) rows.push(await processingCase(env, concurrency, jobs));
    rows.push(await connections(env));
    return rows;
  });
}
