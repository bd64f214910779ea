-- GCRA over several buckets at once, all or none (core/src/shared/limits.rs).
-- KEYS[i]: a bucket's theoretical arrival time, integer microseconds on Redis's clock.
-- ARGV[3i-2], ARGV[3i-1], ARGV[3i]: its emission interval and burst allowance (both in
-- microseconds, possibly fractional) and this take's cost in units.
-- Returns {0, 0} when every bucket took its cost, else {i, wait_us} for the first that
-- refused (nothing is taken then).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local new = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i - 2])
  local allowance = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  if cost > 0 then
    local inc = cost * interval
    -- A take larger than the whole burst passes only on a full bucket.
    if inc > allowance then allowance = inc end
    local tat = tonumber(redis.call('GET', key) or '0') or 0
    if tat < now then tat = now end
    local ahead = tat + inc - now
    if ahead > allowance then
      return {i, math.ceil(ahead - allowance)}
    end
    new[i] = tat + inc
  end
end
for i, key in ipairs(KEYS) do
  if new[i] then
    -- Kept until the bucket is full again, plus a second; then it is as good as absent.
    local ttl = math.ceil((new[i] - now) / 1000) + 1000
    redis.call('SET', key, string.format('%.0f', new[i]), 'PX', ttl)
  end
end
return {0, 0}
