-- ARGV: prefix, now, then job ids. Waiting jobs are cancelled at once,
-- running ones are asked to stop. Returns {cancelled ids, requested ids}.
local now = ARGV[2]
local cancelled, requested = {}, {}
for i = 3, #ARGV do
    local id = ARGV[i]
    local jk = jkey(id)
    local state, queue, run_at, ukey, uscope =
        unpack(redis.call('HMGET', jk, 'state', 'queue', 'run_at', 'unique_key', 'unique_scope'))
    if state == 'available' then
        unplace(id, queue, run_at)
        redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', now)
        release_unique(id, ukey, uscope)
        cancelled[#cancelled + 1] = id
    elseif state == 'running' then
        redis.call('HSET', jk, 'cancel_requested', 1)
        requested[#requested + 1] = id
    end
end
return { cancelled, requested }
