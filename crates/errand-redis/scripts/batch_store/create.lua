-- ARGV: prefix, origin, now, batch id (taken from <P>:batch_seq), tenant
-- ('' for none), sealed (0/1), continuations (JSON [{on, kind}]), cont (see
-- `batch_finish` in prelude.lua), count, then JOB_FIELDS fields per job.
-- Returns id, duplicate (0/1) per job.
local now, id = ARGV[3], ARGV[4]
local bk = bkey(id)
if redis.call('EXISTS', bk) == 1 then
    return redis.error_reply('errand: batch ' .. id .. ' exists already')
end
redis.call('HSET', bk, 'total', 0, 'waiting', 0, 'running', 0, 'completed', 0, 'failed', 0, 'cancelled', 0,
    'sealed', 0, 'created_at', now, 'changed_at', now, 'continuations', ARGV[7], 'cont', ARGV[8])
if ARGV[5] ~= '' then
    redis.call('HSET', bk, 'tenant', ARGV[5])
    redis.call('ZADD', P .. ':tenant_batches:' .. ARGV[5], id, id)
end
redis.call('ZADD', P .. ':batches', id, id)
local out = enqueue_jobs(now, tonumber(ARGV[9]), function(i, field)
    return ARGV[9 + (i - 1) * JOB_FIELDS + field]
end)
if ARGV[6] == '1' then
    batch_seal(id, now)
end
return out
