-- ARGV: prefix, origin, now, then job ids. Waiting jobs are cancelled at once,
-- running ones are asked to stop, finished ones are left alone. Returns
-- {cancelled ids, requested ids, finished ids, their states, missing ids}.
local now = ARGV[3]
local cancelled, requested, finished, states, missing = {}, {}, {}, {}, {}
local seen = {}
local moves = {}
local counts = {}
for i = 4, #ARGV do
    local id = ARGV[i]
    if not seen[id] then
        seen[id] = true
        local jk = jkey(id)
        if redis.call('HEXISTS', P .. ':claims', id) == 1 then
            redis.call('SADD', P .. ':cancel', id)
            requested[#requested + 1] = id
        else
            local state, queue, run_at, attempt, ukey, uscope, kind, batch, tenant = unpack(redis.call('HMGET',
                jk, 'state', 'queue', 'run_at', 'attempt', 'unique_key', 'unique_scope', 'kind', 'batch', 'tenant'))
            if state == 'available' then
                unplace(id, queue, run_at, attempt, uscope, kind, tenant)
                redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', now)
                release_unique(id, ukey, uscope)
                batch_moved(moves, batch, 'waiting', 'cancelled')
                count_finished(counts, id, queue, tenant, 'cancelled', 1)
                cancelled[#cancelled + 1] = id
            elseif state then
                finished[#finished + 1] = id
                states[#states + 1] = state
            else
                missing[#missing + 1] = id
            end
        end
    end
end
batch_apply(moves, now, false)
apply_counts(counts)
return { cancelled, requested, finished, states, missing }
