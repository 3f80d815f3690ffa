-- ARGV: prefix, origin, most batches to take. Takes the finished batches
-- no caller has taken yet, the oldest end first, and removes them from the
-- pending set in this script: each is taken once. Returns their ids.
local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGE', P .. ':batches_hook_pending', 0, limit - 1)
if #ids > 0 then
    redis.call('ZREM', P .. ':batches_hook_pending', unpack(ids))
end
return ids
