/**
 * Lua run by the workers and the driver. Times are Redis' own clock (`TIME`), as a 16-digit
 * string of microseconds: every process's events are stamped by the one server that orders
 * them, so intervals from different processes compare without clock skew. (Strings, not Lua
 * numbers: cjson and tostring would round a 16-digit number.)
 */
const NOW_US = `local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', tonumber(t[2]))`;

/**
 * The fenced memory store (as in the sample host). KEYS: fence, memories, counters.
 * ARGV: token, then id/json pairs. Refuses a token older than the last accepted one; adds only
 * facts not stored yet (retries and duplicate runs are idempotent). Returns {accepted, added|last}.
 */
export const STORE_WRITE = `
local token = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if token < last then
  redis.call('HINCRBY', KEYS[3], 'refused', 1)
  return {0, last}
end
if token > last then redis.call('SET', KEYS[1], ARGV[1]) end
local added = 0
for i = 2, #ARGV, 2 do
  added = added + redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[3], 'accepted', 1)
redis.call('HINCRBY', KEYS[3], 'added', added)
return {1, added}
`;

/**
 * First thing inside the org lock. KEYS: holder, open, dead, overlaps, orgs.
 * ARGV: orgId, token, worker, jobId. If the probe still names a holder whose process is alive,
 * two holders are inside at once: an overlap, recorded. (A holder whose process the driver saw
 * exit is not one: SIGKILL left its section open.) Returns 1 on overlap.
 */
export const PROBE_ENTER = `
${NOW_US}
local overlap = 0
local prev = redis.call('HGET', KEYS[1], 'worker')
if prev and redis.call('SISMEMBER', KEYS[3], prev) == 0 then
  overlap = 1
  redis.call('RPUSH', KEYS[4], cjson.encode({ org = ARGV[1], heldBy = prev, heldToken = redis.call('HGET', KEYS[1], 'token'), enteredBy = ARGV[3], token = ARGV[2], jobId = ARGV[4], atUs = now }))
end
redis.call('HSET', KEYS[1], 'worker', ARGV[3], 'token', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3] .. '|' .. ARGV[2], ARGV[4] .. '|' .. now)
redis.call('SADD', KEYS[5], ARGV[1])
return overlap
`;

/**
 * Last thing inside the org lock (in a finally). KEYS: holder, open, intervals.
 * ARGV: token, worker. Closes this section's interval; clears the holder only if it is still us.
 */
export const PROBE_LEAVE = `
${NOW_US}
local field = ARGV[2] .. '|' .. ARGV[1]
local entered = redis.call('HGET', KEYS[2], field)
if not entered then return 0 end
redis.call('HDEL', KEYS[2], field)
if redis.call('HGET', KEYS[1], 'worker') == ARGV[2] and redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
redis.call('RPUSH', KEYS[3], field .. '|' .. entered .. '|' .. now)
return 1
`;

/** The driver, when a worker process has exited. KEYS: dead, deaths. ARGV: worker. Returns the time (µs). */
export const MARK_DEAD = `
${NOW_US}
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], now)
return now
`;
