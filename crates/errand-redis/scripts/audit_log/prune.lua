-- ARGV: prefix, origin, cutoff (unix microseconds), most to remove. Removes
-- up to that many records made before the cutoff (the caller calls again
-- while a call removes as many as it may, so no call blocks Redis for long).
-- Returns how many it removed.
local ids = redis.call('ZRANGEBYSCORE', P .. ':audit_at', '-inf', '(' .. ARGV[3], 'LIMIT', 0, ARGV[4])
for _, id in ipairs(ids) do
    redis.call('ZREMRANGEBYSCORE', P .. ':audit', id, id)
    redis.call('ZREM', P .. ':audit_at', id)
end
return #ids
