-- ARGV: prefix, origin, worker, now, lease_until, limit, queue count, then queue and
-- cap per queue (-1: none), kind count, then kind, cap, global limit per
-- kind (-1: none), paused tenant count, then the paused tenants (their jobs
-- are passed over, read from each candidate's hash). Returns id, attempt, spec, errors, max_attempts, run_at
-- per claimed job, one flat list (a nested table costs its conversion to a
-- reply a probe for each of Redis's special fields: `err`, `ok`, `double`
-- and more), in claim order: queues in the given order, then priority,
-- run_at, id.

-- Redis keeps a hash of at most `hash-max-listpack-entries` fields (512 by
-- default) whose values are at most `hash-max-listpack-value` bytes (64) as
-- one packed list, in which every HSET, HMGET and HDEL looks a field up by
-- walking the list. <P>:claims holds a field per running job, a few hundred
-- under load, and such walks were a third of the server's work per job
-- (claim and finalize, counted with callgrind). A field `0` (no job has that
-- id) with a value longer than that limit makes Redis keep the hash as a
-- hash table, and keeps it even when no job runs. Checked here rather than
-- once at connect: a server restarted without persistence, or flushed,
-- loses the field while stores stay connected.
local function keep_claims_a_table()
    if redis.call('HEXISTS', P .. ':claims', '0') == 0 then
        redis.call('HSET', P .. ':claims', '0', string.rep('-', 1024))
    end
end

local worker, now, lease = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit = tonumber(ARGV[6])
local queues = {}
local i = 8
for q = 1, tonumber(ARGV[7]) do
    queues[q] = { ARGV[i], tonumber(ARGV[i + 1]) }
    i = i + 2
end
local kinds = tonumber(ARGV[i])
i = i + 1
local room = {}
local tagged = {}
local any_room = 0
for _ = 1, kinds do
    local kind, cap, global = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    i = i + 3
    local r = limit
    if cap >= 0 then
        r = math.min(r, cap)
    end
    if global >= 0 then
        local running = tonumber(redis.call('HGET', P .. ':running_kind', kind) or '0')
        r = math.min(r, math.max(global - running, 0))
    end
    room[kind] = r
    tagged[kind] = string.len(kind) .. ':' .. kind
    any_room = any_room + r
end
local paused = nil
for _ = 1, tonumber(ARGV[i]) do
    paused = paused or {}
    paused[ARGV[i + 1]] = true
    i = i + 1
end

-- Jobs that became due since the last claim join their queues' wait sets,
-- earliest first.
local due = redis.call('ZRANGEBYSCORE', P .. ':scheduled', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
    local queue, priority, run_at, attempt, uscope, kind = unpack(redis.call('HMGET', jkey(id), 'queue',
        'priority', 'run_at', 'attempt', 'unique_scope', 'kind'))
    redis.call('ZREM', P .. ':scheduled', id)
    redis.call('ZADD', P .. ':wait:' .. queue, priority, member(run_at, id, attempt, uscope, kind))
end

local out = {}
local claimed = 0
-- Every write is gathered and sent once per claim: the job hashes are only
-- read (see the prelude).
local leases = {}
local records = {}
local moves = {}
local started = {}
for _, q in ipairs(queues) do
    local key = P .. ':wait:' .. q[1]
    local qroom = limit - claimed
    if q[2] >= 0 then
        qroom = math.min(qroom, q[2])
    end
    -- Jobs of kinds this worker cannot take now stay where they are; the
    -- scan steps over them.
    local skipped = 0
    local taken = {}
    while qroom > 0 and any_room > 0 do
        local page = math.min(qroom, any_room, 100)
        local members = redis.call('ZRANGE', key, skipped + #taken, skipped + #taken + page - 1)
        for _, m in ipairs(members) do
            if qroom <= 0 or any_room <= 0 then
                break
            end
            local id, attempt, rel, kind = parse_member(m)
            local r = room[kind]
            if r and r > 0 and paused then
                local tenant = redis.call('HGET', jkey(id), 'tenant')
                if tenant and paused[tenant] then
                    r = nil
                end
            end
            if r and r > 0 then
                taken[#taken + 1] = m
                leases[#leases + 1] = lease
                leases[#leases + 1] = id
                local fields = redis.call('HMGET', jkey(id), 'spec', 'errors', 'max_attempts', 'run_at', 'batch')
                records[#records + 1] = id
                records[#records + 1] = claim_record(attempt, ARGV[4], claim_flags(rel, fields[5]), tagged[kind],
                    worker)
                batch_moved(moves, fields[5], 'waiting', 'running')
                started[kind] = (started[kind] or 0) + 1
                room[kind] = r - 1
                any_room = any_room - 1
                qroom = qroom - 1
                claimed = claimed + 1
                local n = #out
                out[n + 1] = id
                out[n + 2] = attempt
                out[n + 3] = fields[1]
                out[n + 4] = fields[2]
                out[n + 5] = fields[3]
                out[n + 6] = fields[4]
            else
                skipped = skipped + 1
            end
        end
        if #members < page then
            break
        end
    end
    if #taken > 0 then
        if skipped == 0 then
            -- The common case: the claim took the head of the set.
            redis.call('ZREMRANGEBYRANK', key, 0, #taken - 1)
        else
            call_in_slices('ZREM', key, taken)
        end
    end
    if claimed >= limit or any_room <= 0 then
        break
    end
end
if #leases > 0 then
    call_in_slices('ZADD', P .. ':running', leases)
    keep_claims_a_table()
    call_in_slices('HSET', P .. ':claims', records)
end
for kind, n in pairs(started) do
    redis.call('HINCRBY', P .. ':running_kind', kind, n)
end
batch_apply(moves, nil, false)
return out
