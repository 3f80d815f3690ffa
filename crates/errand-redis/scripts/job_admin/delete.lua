-- ARGV: prefix, origin, id. Deletes a job that is not running. Returns 1 when
-- deleted, 0 when there is no such job, -1 when it is running.
local id = ARGV[3]
local jk = jkey(id)
if redis.call('HEXISTS', P .. ':claims', id) == 1 then
    return -1
end
local state, queue, run_at, attempt, ukey, uscope, kind, batch, tenant = unpack(redis.call('HMGET', jk,
    'state', 'queue', 'run_at', 'attempt', 'unique_key', 'unique_scope', 'kind', 'batch', 'tenant'))
if not state then
    return 0
end
if state == 'available' then
    unplace(id, queue, run_at, attempt, uscope, kind, tenant)
end
if ukey then
    local slot = P .. ':unique:' .. ukey
    if redis.call('GET', slot) == id then
        redis.call('DEL', slot)
    end
end
redis.call('ZREM', P .. ':jobs', id)
unindex_job(id, kind, queue, tenant, ukey)
redis.call('DEL', jk)
if batch then
    redis.call('SREM', P .. ':batch_jobs:' .. batch, id)
end
-- A deleted job leaves an unfinished batch's counts (which may finish it).
local moves = {}
batch_moved(moves, batch, BUCKET[state], nil)
batch_moved(moves, batch, 'total', nil)
local time = redis.call('TIME')
batch_apply(moves, time[1] .. string.format('%06d', tonumber(time[2])), true)
if state == 'completed' or state == 'failed' or state == 'cancelled' then
    local counts = {}
    count_finished(counts, id, queue, tenant, state, -1)
    apply_counts(counts)
end
return 1
