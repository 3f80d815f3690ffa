-- ARGV: prefix, origin, now, batch id. Marks an unfinished batch cancelled
-- (it takes no more jobs) and sealed, asks its running jobs to stop and
-- cancels its waiting ones; it finishes once nothing of it runs. Returns
-- {found (0/1), cancelled, signalled, finished before}.
local now, id = ARGV[3], ARGV[4]
local bk = bkey(id)
local created, finished_at, completed, failed, cancelled_before = unpack(redis.call('HMGET', bk,
    'created_at', 'finished_at', 'completed', 'failed', 'cancelled'))
if not created then
    return { 0, 0, 0, 0 }
end
local done = tonumber(completed) + tonumber(failed) + tonumber(cancelled_before)
if finished_at then
    return { 1, 0, 0, done }
end
if redis.call('HEXISTS', bk, 'cancelled_at') == 0 then
    redis.call('HSET', bk, 'cancelled_at', now)
end
redis.call('HSET', bk, 'sealed', 1, 'changed_at', now)
local moves = {}
local counts = {}
local cancelled, signalled = 0, 0
for _, job in ipairs(redis.call('SMEMBERS', P .. ':batch_jobs:' .. id)) do
    -- A running job's hash holds the state it was claimed in: its claim says it runs.
    if redis.call('HEXISTS', P .. ':claims', job) == 1 then
        redis.call('SADD', P .. ':cancel', job)
        signalled = signalled + 1
    else
        local jk = jkey(job)
        local state, queue, run_at, attempt, ukey, uscope, kind, tenant = unpack(redis.call('HMGET', jk,
            'state', 'queue', 'run_at', 'attempt', 'unique_key', 'unique_scope', 'kind', 'tenant'))
        if state == 'available' then
            unplace(job, queue, run_at, attempt, uscope, kind, tenant)
            redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', now)
            release_unique(job, ukey, uscope)
            batch_moved(moves, id, 'waiting', 'cancelled')
            count_finished(counts, job, queue, tenant, 'cancelled', 1)
            cancelled = cancelled + 1
        end
    end
end
batch_apply(moves, now, false)
apply_counts(counts)
batch_finish(id, now)
return { 1, cancelled, signalled, done }
