-- ARGV: prefix, worker, now, count, then per attempt: id, attempt, outcome,
-- a, b. Outcomes: complete (a: output JSON), retry (a: run_at, b: error
-- JSON), fail and cancel (a: error JSON), snooze (a: run_at; the attempt is
-- given back). Returns 1 per applied attempt, 0 when the job no longer runs
-- under this worker and attempt (fencing).
local worker, now = ARGV[2], ARGV[3]
local out = {}
local woke = false
for i = 0, tonumber(ARGV[4]) - 1 do
    local b = 4 + i * 5
    local id, attempt, outcome, a, e = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
    local jk = jkey(id)
    local state, current, holder, kind, queue, priority =
        unpack(redis.call('HMGET', jk, 'state', 'attempt', 'worker', 'kind', 'queue', 'priority'))
    if state == 'running' and current == attempt and holder == worker then
        stop_running(id, kind)
        if outcome == 'complete' then
            redis.call('HSET', jk, 'state', 'completed', 'output', a, 'finished_at', now)
            release_unique(id)
        elseif outcome == 'retry' then
            append_error(id, e)
            redis.call('HSET', jk, 'state', 'available', 'run_at', a)
            place(id, queue, priority, a, now)
            woke = woke or tonumber(a) <= tonumber(now)
        elseif outcome == 'fail' or outcome == 'cancel' then
            append_error(id, a)
            local ended = 'failed'
            if outcome == 'cancel' then
                ended = 'cancelled'
            end
            redis.call('HSET', jk, 'state', ended, 'finished_at', now)
            release_unique(id)
        else
            redis.call('HSET', jk, 'state', 'available', 'run_at', a)
            redis.call('HINCRBY', jk, 'attempt', -1)
            place(id, queue, priority, a, now)
            woke = woke or tonumber(a) <= tonumber(now)
        end
        out[#out + 1] = 1
    else
        out[#out + 1] = 0
    end
end
if woke then
    wake()
end
return out
