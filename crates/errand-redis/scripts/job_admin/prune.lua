-- ARGV: prefix, origin, state, finished before (micros), after this id,
-- most jobs to look at. Looks at the jobs after the given id in id order
-- (at most that many, to keep the server free) and deletes those of the
-- state that finished before the time. Returns {deleted ids, last id
-- looked at or 0 when none was left}.
local state, before, after, limit = ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local ids = redis.call('ZRANGE', P .. ':jobs', '(' .. after, '+inf', 'BYSCORE', 'LIMIT', 0, limit)
local deleted = {}
local counts = {}
for _, id in ipairs(ids) do
    local jk = jkey(id)
    local s, finished, ukey, batch, queue, tenant, kind = unpack(redis.call('HMGET', jk, 'state',
        'finished_at', 'unique_key', 'batch', 'queue', 'tenant', 'kind'))
    -- A job of an unfinished batch stays: the batch's counts and its
    -- continuations' report are of all its jobs.
    if s == state and finished and tonumber(finished) < before
        and redis.call('HEXISTS', P .. ':claims', id) == 0
        and not (batch and redis.call('HEXISTS', bkey(batch), 'finished_at') == 0
            and redis.call('EXISTS', bkey(batch)) == 1) then
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
        count_finished(counts, id, queue, tenant, s, -1)
        deleted[#deleted + 1] = id
    end
end
apply_counts(counts)
local last = 0
if #ids >= limit then
    last = ids[#ids]
end
return { deleted, last }
