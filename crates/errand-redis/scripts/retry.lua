-- ARGV: prefix, origin, id, now. A finished job waits again at now with one more
-- attempt allowed; an `active` unique key is taken again. Returns 1 when
-- the job was finished, else 0.
local id, now = ARGV[3], ARGV[4]
local jk = jkey(id)
local state, queue, priority, attempt, max_attempts, ukey, uscope, kind = unpack(redis.call('HMGET', jk,
    'state', 'queue', 'priority', 'attempt', 'max_attempts', 'unique_key', 'unique_scope', 'kind'))
-- A running job's hash holds the state it was claimed in, never a finished one.
if state ~= 'completed' and state ~= 'failed' and state ~= 'cancelled' then
    return 0
end
redis.call('HDEL', jk, 'finished_at', 'output')
redis.call('HSET', jk, 'state', 'available', 'run_at', now,
    'max_attempts', math.max(tonumber(max_attempts), tonumber(attempt) + 1))
if ukey and uscope == 'active' then
    redis.call('SET', P .. ':unique:' .. ukey, id)
end
place(id, queue, priority, now, now, attempt, uscope, kind)
wake()
return 1
