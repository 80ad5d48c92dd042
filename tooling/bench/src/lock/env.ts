import { parseInfo } from '@lota/redis-testkit';
import type { Redis } from 'ioredis';
import type { BenchContext } from '../types.js';

export const SUITE = 'lock';

/** What every part of the lock suite measures with. */
export interface Env {
  ctx: BenchContext;
  url: string;
  /** The one client every in-process config uses. */
  client: Redis;
  /** FLUSHALL and INFO only; left out of the client command count. */
  admin: Redis;
}

export async function serverCommands(env: Env): Promise<number> {
  const value = Number(parseInfo(await env.admin.info('stats')).total_commands_processed);
  if (!Number.isFinite(value)) throw new Error('INFO stats has no total_commands_processed');
  return value;
}

/** total_commands_processed delta between two INFO reads, without the first INFO itself. */
export const serverDelta = (before: number, after: number): number => after - before - 1;

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
