-- ARGV: prefix, origin, worker, now, count, then per attempt: id, attempt, outcome,
-- a, b; last, 1 when the ends free slots of a global limit (other
-- processes' workers are woken for them), else 0. Outcomes: complete (a: output JSON), retry (a: run_at, b: error
-- JSON), fail and cancel (a: error JSON), snooze (a: run_at; the attempt is
-- given back). Returns 1 per applied attempt, 0 when the job no longer runs
-- under this worker and attempt (fencing).
local worker, now = ARGV[3], ARGV[4]
local count = tonumber(ARGV[5])
local ids = {}
for i = 1, count do
    ids[i] = ARGV[5 + (i - 1) * 5 + 1]
end
local records = hmget_in_slices(P .. ':claims', ids)
local out = {}
local woke = false
local ended = {}
local per_kind = {}
local per_tenant = {}
local moves = {}
local counts = {}
for i = 1, count do
    local b = 5 + (i - 1) * 5
    local id, attempt, outcome, a, e = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
    local current, started_at, flags, kind, holder = parse_claim(records[i])
    if current == number[attempt] and holder == worker then
        local jk = jkey(id)
        local batch, tenant, queue = nil, nil, nil
        if flag_batch(flags) or flag_tenant(flags) then
            batch, tenant, queue = unpack(redis.call('HMGET', jk, 'batch', 'tenant', 'queue'))
            if tenant and flag_tenant(flags) then
                per_tenant[tenant] = (per_tenant[tenant] or 0) + 1
            end
        end
        ended[#ended + 1] = id
        per_kind[kind] = (per_kind[kind] or 0) + 1
        if outcome == 'complete' then
            queue = queue or redis.call('HGET', jk, 'queue')
            redis.call('HSET', jk, 'state', 'completed', 'output', a, 'finished_at', now, 'attempt', attempt,
                'worker', worker, 'started_at', started_at)
            batch_moved(moves, batch, 'running', 'completed')
            count_finished(counts, id, queue, tenant, 'completed', 1)
        elseif outcome == 'retry' or outcome == 'snooze' then
            local queue, priority, uscope, errors = unpack(redis.call('HMGET', jk, 'queue', 'priority',
                'unique_scope', 'errors'))
            local made = attempt
            if outcome == 'retry' then
                redis.call('HSET', jk, 'state', 'available', 'run_at', a, 'errors', with_error(id, errors, e),
                    'attempt', made, 'worker', worker, 'started_at', started_at)
            else
                made = tonumber(attempt) - 1
                redis.call('HSET', jk, 'state', 'available', 'run_at', a, 'attempt', made, 'worker', worker,
                    'started_at', started_at)
            end
            place(id, queue, priority, a, now, made, uscope, kind, tenant)
            batch_moved(moves, batch, 'running', 'waiting')
            woke = woke or tonumber(a) <= tonumber(now)
        else
            local state = 'failed'
            if outcome == 'cancel' then
                state = 'cancelled'
            end
            local errors, queue_read = unpack(redis.call('HMGET', jk, 'errors', 'queue'))
            redis.call('HSET', jk, 'state', state, 'finished_at', now, 'errors', with_error(id, errors, a),
                'attempt', attempt, 'worker', worker, 'started_at', started_at)
            batch_moved(moves, batch, 'running', state)
            count_finished(counts, id, queue_read, tenant, state, 1)
        end
        if flag_releases(flags) and outcome ~= 'retry' and outcome ~= 'snooze' then
            local ukey, uscope = unpack(redis.call('HMGET', jk, 'unique_key', 'unique_scope'))
            release_unique(id, ukey, uscope)
        end
        out[#out + 1] = 1
    else
        out[#out + 1] = 0
    end
end
end_claims(ended, per_kind, per_tenant)
batch_apply(moves, now, false)
apply_counts(counts)
if woke or (ARGV[#ARGV] == '1' and #ended > 0) then
    wake()
end
return out
