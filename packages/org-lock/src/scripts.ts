/**
 * Lua run atomically on each Redis master. Every key of one scope shares the hash tag
 * `{<scope>}`, so each script touches a single Cluster slot.
 *
 * Keys of a scope (the same five for every script that queues):
 *   KEYS[1] owner     string: the holder's token, with the lease as its PX expiry
 *   KEYS[2] fence     the last fencing token issued (never expires); see next_fence below
 *   KEYS[3] queue     zset token -> ticket: who waits, in arrival order
 *   KEYS[4] expiries  zset token -> ms: when a waiter's entry lapses unless it asks again
 *   KEYS[5] tickets   counter for the queue's order (a timestamp would tie within a millisecond)
 *
 * A token is `<instance>:<counter>:<lease ms>`, so a script that grants the lock to a waiter
 * knows how long a lease that waiter asked for. Release messages on the channel are
 * `<sender> r <tag>` (the lock is free) and `<sender> g <token> <fence> <tag>` (the lock was
 * granted to that waiter, with that fencing token).
 */

/**
 * Helpers shared by the scripts below (prepended to each).
 *
 * Fencing tokens: `next_fence` issues max(last + 1, server clock in microseconds). The `+ 1`
 * keeps tokens strictly increasing on one server whatever its clock does; the clock keeps them
 * increasing when the counter is lost or rolled back (restart without persistence, FLUSHALL,
 * eviction, a failover to a replica that missed the last increments): a script runs for more
 * than a microsecond, so a token never runs ahead of the clock that issued it, and the first
 * token after a loss (the clock then) is above every token issued before, provided the clock of
 * the server that now serves the scope is not behind the old one's by more than the time that
 * passed in between. Tokens stay below 2^53 (exact in a JavaScript number) until the year 2255.
 * The clock is built as a string: Lua would print a 16-digit number in %.14g and lose digits.
 */
const COMMON = `
local function next_fence(fence)
  local t = redis.call('TIME')
  local clock = t[1] .. string.sub('00000' .. t[2], -6)
  local last = tonumber(redis.call('GET', fence) or '0')
  if last and last >= tonumber(clock) then
    return redis.call('INCR', fence)
  end
  redis.call('SET', fence, clock)
  return tonumber(clock)
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function purge(queue, expiries, now)
  local stale = redis.call('ZRANGEBYSCORE', expiries, '-inf', now)
  if #stale > 0 then
    redis.call('ZREM', expiries, unpack(stale))
    redis.call('ZREM', queue, unpack(stale))
  end
end
-- Gives the free lock to the oldest waiter and tells it. The lease is capped at the entry
-- lifetime: a waiter that died after queueing blocks the scope no longer than its entry would.
local function grant_head(owner, fence, queue, expiries, channel, sender, tag, cap)
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if not head then
    return false
  end
  local ttl = tonumber(string.match(head, ':(%d+)$')) or cap
  if ttl > cap then ttl = cap end
  redis.call('SET', owner, head, 'PX', ttl)
  redis.call('ZREM', queue, head)
  redis.call('ZREM', expiries, head)
  local f = next_fence(fence)
  redis.call('PUBLISH', channel, sender .. ' g ' .. head .. ' ' .. f .. ' ' .. tag)
  return true
end
local function enqueue(queue, expiries, tickets, token, now, life)
  if not redis.call('ZSCORE', queue, token) then
    redis.call('ZADD', queue, redis.call('INCR', tickets), token)
  end
  redis.call('ZADD', expiries, now + life, token)
  redis.call('PEXPIRE', queue, life)
  redis.call('PEXPIRE', expiries, life)
  redis.call('PEXPIRE', tickets, life)
end
`;

/**
 * Acquire, or join the wait queue.
 *   ARGV[1] token, ARGV[2] first lease ms (the holder extends it to its full lease if it is still
 *   there: an acquire that lands after its caller gave up holds the scope only this long),
 *   ARGV[3] waiter entry lifetime ms,
 *   ARGV[4] '1' = first come, first served, '0' = any (several masters),
 *   ARGV[5] channel, ARGV[6] sender, ARGV[7] tag
 * Returns {1, fencingToken, pttl} when the caller holds the lock (also when a release already
 * granted it to this token), else {0, pttl}. A free lock with older waiters is granted to the
 * oldest (who may be waiting for a message that was lost) and the caller queues.
 * Uncontended: GET, EXISTS, SET, then TIME, GET, SET for the token.
 */
export const ACQUIRE = `${COMMON}
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PTTL', KEYS[1])}
end
if not owner and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, next_fence(KEYS[2]), tonumber(ARGV[2])}
end
local now = now_ms()
purge(KEYS[3], KEYS[4], now)
if not owner then
  local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if ARGV[4] == '0' or head == nil or head == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    redis.call('ZREM', KEYS[3], ARGV[1])
    redis.call('ZREM', KEYS[4], ARGV[1])
    return {1, next_fence(KEYS[2]), tonumber(ARGV[2])}
  end
  grant_head(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[3]))
end
enqueue(KEYS[3], KEYS[4], KEYS[5], ARGV[1], now, tonumber(ARGV[3]))
return {0, redis.call('PTTL', KEYS[1])}
`;

/** The first element of {@link ACQUIRE}'s reply (the numbers its `return`s write). */
export const ACQUIRE_REPLY = Object.freeze({
  /** `{0, pttl}`: held by another (or older waiters go first); the caller is queued. */
  QUEUED: 0,
  /** `{1, fencingToken, pttl}`: the caller holds the lock. */
  ACQUIRED: 1,
} as const);

/**
 * Release if still ours. With no other process waiting (or while this process may still keep a
 * short streak), the lock goes straight to the next caller in this process; otherwise, when fair,
 * that caller is queued behind the others and the lock goes to the oldest waiter (first come,
 * first served), told by message; when not fair, the lock is freed, everyone is told, and the
 * next caller in this process asks again at once like the others.
 *   ARGV[1] token, ARGV[2] channel, ARGV[3] sender, ARGV[4] tag,
 *   ARGV[5] next local caller's token ('' = none), ARGV[6] its lease ms, ARGV[7] waiter entry lifetime ms,
 *   ARGV[8] '1' = first come, first served, '0' = wake everyone (several masters),
 *   ARGV[9] '1' = the next local caller may go first even if others wait (the streak is short)
 * Returns {0} not ours any more (expired or taken over), {1} released, {2, fencingToken, othersWait}
 * handed to the next local caller, {3} the next local caller was queued behind other waiters.
 * An uncontended release is GET, EXISTS, DEL; a local hand-off adds SET and the token.
 */
export const RELEASE = `${COMMON}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0}
end
local waiting = redis.call('EXISTS', KEYS[3]) == 1
local now
if waiting then
  now = now_ms()
  purge(KEYS[3], KEYS[4], now)
  waiting = redis.call('EXISTS', KEYS[3]) == 1
end
if ARGV[5] ~= '' and (not waiting or ARGV[9] == '1') then
  redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
  return {2, next_fence(KEYS[2]), waiting and 1 or 0}
end
redis.call('DEL', KEYS[1])
if not waiting then
  return {1}
end
local result = {1}
if ARGV[5] ~= '' and ARGV[8] == '1' then
  enqueue(KEYS[3], KEYS[4], KEYS[5], ARGV[5], now, tonumber(ARGV[7]))
  result = {3}
end
if ARGV[8] == '1' then
  grant_head(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[7]))
else
  redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' r ' .. ARGV[4])
end
return result
`;

/** The first element of {@link RELEASE}'s reply (the numbers its `return`s write). */
export const RELEASE_REPLY = Object.freeze({
  /** `{0}`: not ours any more (expired or taken over). */
  NOT_OURS: 0,
  /** `{1}`: released. */
  RELEASED: 1,
  /** `{2, fencingToken, othersWait}`: handed to the next local caller; `othersWait` is 1 when other processes wait. */
  HANDED_OVER: 2,
  /** `{3}`: the next local caller was queued behind other waiters. */
  QUEUED_NEXT: 3,
} as const);

/**
 * Leave the wait queue (a waiter that gave up, or a grant nobody is waiting for any more). If
 * the lock was granted to this token meanwhile, it is passed on as a release would.
 *   ARGV[1] token, ARGV[2] channel, ARGV[3] sender, ARGV[4] tag, ARGV[5] waiter entry lifetime ms,
 *   ARGV[6] '1' = first come, first served
 * Returns 1 when it released a granted lock, else 0.
 */
export const LEAVE = `${COMMON}
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[3]) == 1 then
  purge(KEYS[3], KEYS[4], now_ms())
  if ARGV[6] == '1' then
    grant_head(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
  else
    redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' r ' .. ARGV[4])
  end
end
return 1
`;

/**
 * Extend the lease if still ours.
 *   KEYS[1] owner; ARGV[1] token, ARGV[2] lease ms
 * Returns 1 when extended, 0 when the lock is no longer ours.
 */
export const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** {@link EXTEND}'s reply. */
export const EXTEND_REPLY = Object.freeze({
  /** The lock is no longer ours. */
  NOT_OURS: 0,
  /** Extended (PEXPIRE's 1). */
  EXTENDED: 1,
} as const);

/**
 * Raise the fence counter to at least ARGV[1] (several masters only: after a quorum acquisition
 * takes the highest counter it saw, every master that granted it learns that value, so the next
 * quorum, which overlaps this one, INCRs past it).
 *   KEYS[1] fence; ARGV[1] value. Returns the counter after the call.
 */
export const RAISE_FENCE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if current < wanted then
  redis.call('SET', KEYS[1], ARGV[1]) -- the string as sent: Lua would print a 16-digit number with %.14g
  return wanted
end
return current
`;
