-- ARGV: prefix, origin, id, now. A finished job waits again at now with a
-- fresh attempt budget: as many attempts beyond those it had as it was
-- enqueued with (kept in `attempt_budget` by the first retry); its errors
-- stay. An `active` unique key is taken again. Returns
-- {'done'}; {'missing'} when there is no such job; {'state', state, run_at,
-- attempt} when the job has not finished (state `running` or the stored
-- `available`); {'taken'} when another unfinished job holds its unique key.
local id, now = ARGV[3], ARGV[4]
local jk = jkey(id)
local state, queue, priority, attempt, max_attempts, ukey, uscope, kind, run_at, batch, budget, tenant = unpack(
    redis.call('HMGET', jk, 'state', 'queue', 'priority', 'attempt', 'max_attempts', 'unique_key',
        'unique_scope', 'kind', 'run_at', 'batch', 'attempt_budget', 'tenant'))
if not state then
    return { 'missing' }
end
-- A running job's hash holds the state it was claimed in, never a finished one.
if redis.call('HEXISTS', P .. ':claims', id) == 1 then
    return { 'state', 'running', run_at, attempt }
end
if state ~= 'completed' and state ~= 'failed' and state ~= 'cancelled' then
    return { 'state', state, run_at, attempt }
end
if ukey and uscope == 'active' then
    local slot = P .. ':unique:' .. ukey
    local holder = redis.call('GET', slot)
    if holder and holder ~= id then
        return { 'taken' }
    end
    redis.call('SET', slot, id)
end
redis.call('HDEL', jk, 'finished_at', 'output')
budget = tonumber(budget or max_attempts)
redis.call('HSET', jk, 'state', 'available', 'run_at', now, 'attempt_budget', budget,
    'max_attempts', tonumber(attempt) + budget)
place(id, queue, priority, now, now, attempt, uscope, kind, tenant)
local moves = {}
batch_moved(moves, batch, state, 'waiting')
batch_apply(moves, now, false)
local counts = {}
count_finished(counts, id, queue, tenant, state, -1)
apply_counts(counts)
wake()
return { 'done' }
