-- ARGV: prefix, origin, now, batch id, seal (0/1), count, then JOB_FIELDS
-- fields per job. Returns 0 then id, duplicate (0/1) per job; or 1 alone
-- when there is no such batch, 2 when it has finished, 3 when it was
-- cancelled (nothing written).
local now, id = ARGV[3], ARGV[4]
local created, finished, cancelled = unpack(redis.call('HMGET', bkey(id), 'created_at', 'finished_at',
    'cancelled_at'))
if not created then
    return { 1 }
elseif finished then
    return { 2 }
elseif cancelled then
    return { 3 }
end
local out = enqueue_jobs(now, tonumber(ARGV[6]), function(i, field)
    return ARGV[6 + (i - 1) * JOB_FIELDS + field]
end)
if ARGV[5] == '1' then
    batch_seal(id, now)
end
table.insert(out, 1, 0)
return out
