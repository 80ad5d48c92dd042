import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './client-factory.js';
import type { ResolvedRedisConfig } from './options.js';
import { scrubError } from './scrub-error.js';
import { isCluster } from './tracked-client.js';

/**
 * The server's `maxmemory-policy` (of the first master on a cluster), or `null` when CONFIG is
 * not allowed; warns (unless `warnOnEviction` is off) when it lets Redis evict keys.
 */
export async function readEvictionPolicy(general: RedisClient, cfg: ResolvedRedisConfig, redact: (text: string) => string): Promise<string | null> {
  let evictionPolicy: string | null;
  try {
    const target = isCluster(general) ? (general as Cluster).nodes('master')[0] : (general as Redis);
    if (!target) return null;
    const reply = (await target.config('GET', 'maxmemory-policy')) as string[];
    evictionPolicy = reply[1] ?? null;
  } catch (err) {
    // Managed services often disable or rename CONFIG; that is not an error.
    cfg.logger.debug({ error: scrubError(err as Error, redact).message }, 'could not read maxmemory-policy (CONFIG is disabled here)');
    return null;
  }
  if (evictionPolicy && evictionPolicy !== 'noeviction' && cfg.warnOnEviction) {
    cfg.logger.warn(
      { evictionPolicy, target: cfg.target.display },
      `redis maxmemory-policy is '${evictionPolicy}', not 'noeviction': under memory pressure Redis may evict BullMQ job keys ` +
        'and lock keys, losing jobs and breaking mutual exclusion. Set maxmemory-policy to noeviction on this server and keep the ' +
        'embedding cache on a separate Redis, or pass warnOnEviction: false if this Redis only holds cache data.',
    );
  }
  return evictionPolicy;
}
