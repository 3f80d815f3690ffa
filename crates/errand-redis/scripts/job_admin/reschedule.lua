-- ARGV: prefix, origin, id, now, then the new run_at, priority, queue and
-- spec ('' keeps the job's). A waiting job moves where claims find it.
-- Returns {'done'}, {'missing'}, or {'state', state, run_at, attempt} for a
-- job that is not waiting (state `running` or a finished one).
local id, now = ARGV[3], ARGV[4]
local jk = jkey(id)
local state, queue, priority, run_at, attempt, uscope, kind, tenant = unpack(redis.call('HMGET', jk,
    'state', 'queue', 'priority', 'run_at', 'attempt', 'unique_scope', 'kind', 'tenant'))
if not state then
    return { 'missing' }
end
if redis.call('HEXISTS', P .. ':claims', id) == 1 then
    return { 'state', 'running', run_at, attempt }
end
if state ~= 'available' then
    return { 'state', state, run_at, attempt }
end
local function given(i, current)
    if ARGV[i] == '' then
        return current
    end
    return ARGV[i]
end
local new_run_at, new_priority, new_queue = given(5, run_at), given(6, priority), given(7, queue)
unplace(id, queue, run_at, attempt, uscope, kind, tenant)
redis.call('HSET', jk, 'run_at', new_run_at, 'priority', new_priority, 'queue', new_queue)
if ARGV[8] ~= '' then
    redis.call('HSET', jk, 'spec', ARGV[8])
end
redis.call('SADD', P .. ':queues', new_queue)
place(id, new_queue, new_priority, new_run_at, now, attempt, uscope, kind, tenant)
if tonumber(new_run_at) <= tonumber(now) then
    wake()
end
return { 'done' }
