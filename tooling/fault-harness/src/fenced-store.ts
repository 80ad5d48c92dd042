import type { Cluster, Redis } from 'ioredis';

/**
 * A store that refuses stale writers: a write carries the writer's fencing token and is refused
 * when a larger token has already written. It keeps its own log of accepted tokens per scope so
 * that a check can prove it never accepted an out-of-order token. Keep it on a Redis that the
 * faults do not touch (it stands for the resource the lock protects, which outlives the lock's
 * Redis): then a lock Redis that lost its data shows up as refused writes, not as accepted ones.
 *
 * Keys of a scope share the hash tag `{<scope>}` (one slot on a Cluster):
 *   <prefix>:{<scope>}:last      the largest token accepted
 *   <prefix>:{<scope>}:accepted  LIST of accepted tokens, in acceptance order
 *   <prefix>:{<scope>}:value     the last accepted value
 */
const WRITE = `
local raw = redis.call('GET', KEYS[1]) or '-1'
if tonumber(ARGV[1]) < tonumber(raw) then return {0, raw} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2])
return {1, raw}
`;

/** Tokens are compared as Lua numbers (doubles): exact below 2^53, which fencing tokens are; they are stored and returned as the strings sent (Lua would print 16 digits in %.14g). */
export interface FencedWrite {
  accepted: boolean;
  /** The largest token accepted before this write (-1: none). */
  last: number;
}

export class FencedStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = 'fenced',
  ) {}

  private keys(scope: string): [string, string, string] {
    const base = `${this.prefix}:{${scope}}`;
    return [`${base}:last`, `${base}:accepted`, `${base}:value`];
  }

  async write(scope: string, token: number, value: string): Promise<FencedWrite> {
    const [ok, last] = (await this.redis.eval(WRITE, 3, ...this.keys(scope), String(token), value)) as [number, string];
    return { accepted: ok === 1, last: Number(last) };
  }

  /** The accepted tokens of each scope, in acceptance order. */
  async acceptedLog(scopes: readonly string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const scope of scopes) out.set(scope, (await this.redis.lrange(this.keys(scope)[1], 0, -1)).map(Number));
    return out;
  }
}
