-- ARGV: prefix, worker, now, count, then per attempt: id, attempt, outcome,
-- a, b. Outcomes: complete (a: output JSON), retry (a: run_at, b: error
-- JSON), fail and cancel (a: error JSON), snooze (a: run_at; the attempt is
-- given back). Returns 1 per applied attempt, 0 when the job no longer runs
-- under this worker and attempt (fencing).
local worker, now = ARGV[2], ARGV[3]
local out = {}
local woke = false
-- Index and counter writes are gathered and sent once. An empty
-- `lease_until` means none (one HSET instead of HSET and HDEL).
local stopped = {}
local per_kind = {}
for i = 0, tonumber(ARGV[4]) - 1 do
    local b = 4 + i * 5
    local id, attempt, outcome, a, e = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
    local jk = jkey(id)
    local state, current, holder, kind, queue, priority, ukey, uscope, errors = unpack(redis.call('HMGET', jk,
        'state', 'attempt', 'worker', 'kind', 'queue', 'priority', 'unique_key', 'unique_scope', 'errors'))
    if state == 'running' and current == attempt and holder == worker then
        stopped[#stopped + 1] = id
        per_kind[kind] = (per_kind[kind] or 0) + 1
        if outcome == 'complete' then
            redis.call('HSET', jk, 'state', 'completed', 'output', a, 'finished_at', now, 'lease_until', '')
            release_unique(id, ukey, uscope)
        elseif outcome == 'retry' then
            redis.call('HSET', jk, 'state', 'available', 'run_at', a, 'errors', with_error(errors, e),
                'lease_until', '')
            place(id, queue, priority, a, now)
            woke = woke or tonumber(a) <= tonumber(now)
        elseif outcome == 'fail' or outcome == 'cancel' then
            local ended = 'failed'
            if outcome == 'cancel' then
                ended = 'cancelled'
            end
            redis.call('HSET', jk, 'state', ended, 'finished_at', now, 'errors', with_error(errors, a),
                'lease_until', '')
            release_unique(id, ukey, uscope)
        else
            redis.call('HSET', jk, 'state', 'available', 'run_at', a, 'attempt', tonumber(current) - 1,
                'lease_until', '')
            place(id, queue, priority, a, now)
            woke = woke or tonumber(a) <= tonumber(now)
        end
        out[#out + 1] = 1
    else
        out[#out + 1] = 0
    end
end
if #stopped > 0 then
    call_in_slices('ZREM', P .. ':running', stopped)
end
for kind, n in pairs(per_kind) do
    if tonumber(redis.call('HINCRBY', P .. ':running_kind', kind, -n)) <= 0 then
        redis.call('HDEL', P .. ':running_kind', kind)
    end
end
if woke then
    wake()
end
return out
