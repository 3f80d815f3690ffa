-- ARGV: prefix, origin, worker, now, lease_until, limit, queue count, then per
-- queue its name, cap (-1: none), fair ('1': claims rotate among its
-- tenants, '0': not) and the tenant its rotation resumes after ('' for a
-- new round); kind count, then kind, cap, global limit per kind (-1: none);
-- paused tenant count, then the paused tenants; the limit of every tenant
-- (-1: none), the count of named tenants' limits, then tenant and limit
-- each. Tenants are read from each candidate's hash when a tenant is paused
-- or limited. Returns id, attempt, spec, errors, max_attempts, run_at per
-- claimed job, one flat list (a nested table costs its conversion to a
-- reply a probe for each of Redis's special fields: `err`, `ok`, `double`
-- and more), in claim order: queues in the given order, then priority,
-- run_at, id (in a fair queue, tenant by tenant).

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
    queues[q] = { ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2] == '1', ARGV[i + 3] }
    i = i + 4
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
local paused_count = tonumber(ARGV[i])
for _ = 1, paused_count do
    paused = paused or {}
    paused[ARGV[i + 1]] = true
    i = i + 1
end
i = i + 1
local each_tenant = tonumber(ARGV[i])
local tenant_limits = nil
if each_tenant >= 0 then
    tenant_limits = {}
end
for _ = 1, tonumber(ARGV[i + 1]) do
    tenant_limits = tenant_limits or {}
    tenant_limits[ARGV[i + 2]] = tonumber(ARGV[i + 3])
    i = i + 2
end
-- Whether each candidate's tenant must be read before taking it.
local tenant_checks = paused ~= nil or tenant_limits ~= nil
-- Jobs each limited tenant may still take, filled as tenants are met.
local tenant_room = {}

-- Room left to tenant `tenant` (nil: none), or nil when it is not limited.
local function room_of(tenant)
    if not tenant_limits or not tenant then
        return nil
    end
    local r = tenant_room[tenant]
    if r == nil then
        local lim = tenant_limits[tenant] or each_tenant
        if lim < 0 then
            return nil
        end
        local running = tonumber(redis.call('HGET', P .. ':running_tenant', tenant) or '0')
        r = math.max(lim - running, 0)
        tenant_room[tenant] = r
    end
    return r
end

-- Whether a job of `tenant` may be taken now.
local function tenant_open(tenant)
    if not tenant then
        return true
    end
    if paused and paused[tenant] then
        return false
    end
    local r = room_of(tenant)
    return r == nil or r > 0
end

-- Jobs that became due since the last claim join their queues' wait sets,
-- earliest first.
local due = redis.call('ZRANGEBYSCORE', P .. ':scheduled', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
    local queue, priority, run_at, attempt, uscope, kind, tenant = unpack(redis.call('HMGET', jkey(id), 'queue',
        'priority', 'run_at', 'attempt', 'unique_scope', 'kind', 'tenant'))
    redis.call('ZREM', P .. ':scheduled', id)
    local m = member(run_at, id, attempt, uscope, kind)
    redis.call('ZADD', P .. ':wait:' .. queue, priority, m)
    tenant_wait(queue, tenant, priority, m)
end

local out = {}
local claimed = 0
-- Every write is gathered and sent once per claim: the job hashes are only
-- read (see the prelude).
local leases = {}
local records = {}
local moves = {}
local started = {}
local started_tenant = {}
local untenanted_taken = {}
local qroom = 0

-- Takes the waiting job of wait-set member `m` of `queue` if its kind and
-- tenant have room (its tenant, when already read, is `tenant`; false when
-- not read). Returns whether it was taken, and when not, whether for its
-- tenant; the caller removes `m` from the queue's wait set, this removes it
-- from its tenant's.
local function take(queue, m, tenant)
    local id, attempt, rel, kind = parse_member(m)
    local r = room[kind]
    if not r or r <= 0 then
        return false, false
    end
    local jk = jkey(id)
    if tenant == false and tenant_checks then
        tenant = redis.call('HGET', jk, 'tenant')
    end
    if tenant and not tenant_open(tenant) then
        return false, true
    end
    local fields = redis.call('HMGET', jk, 'spec', 'errors', 'max_attempts', 'run_at', 'batch', 'tenant')
    tenant = fields[6]
    leases[#leases + 1] = lease
    leases[#leases + 1] = id
    records[#records + 1] = id
    records[#records + 1] = claim_record(attempt, ARGV[4], claim_flags(rel, fields[5], tenant), tagged[kind],
        worker)
    batch_moved(moves, fields[5], 'waiting', 'running')
    started[kind] = (started[kind] or 0) + 1
    if tenant then
        started_tenant[tenant] = (started_tenant[tenant] or 0) + 1
        local tr = room_of(tenant)
        if tr then
            tenant_room[tenant] = tr - 1
        end
        tenant_unwait(queue, tenant, m)
    else
        untenanted_taken[queue] = (untenanted_taken[queue] or 0) + 1
    end
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
    return true
end

-- A scan that stepped over this many jobs of paused or full tenants stops:
-- their backlog may be long, and reading the tenant of each of its jobs
-- would cost every claim that much. The tenants with room are then served
-- from their own wait sets (`open_heads`).
local STEP_BOUND = 100
local step_bound = STEP_BOUND
-- Whether the last scan stopped so.
local crowded = false

-- Takes up to `most` jobs of `queue` in its usual order (priority, run_at,
-- id); returns how many. Jobs of kinds or tenants without room stay where
-- they are; the scan steps over them (see STEP_BOUND).
local function ordered(queue, most)
    local key = P .. ':wait:' .. queue
    local skipped = 0
    local stepped = 0
    local taken = {}
    local before = claimed
    while most > 0 and qroom > 0 and any_room > 0 and not crowded do
        local page = math.min(most, qroom, any_room, 100)
        local members = redis.call('ZRANGE', key, skipped + #taken, skipped + #taken + page - 1)
        for _, m in ipairs(members) do
            if most <= 0 or qroom <= 0 or any_room <= 0 then
                break
            end
            local took, for_tenant = take(queue, m, false)
            if took then
                taken[#taken + 1] = m
                most = most - 1
            else
                skipped = skipped + 1
                if for_tenant then
                    stepped = stepped + 1
                    if stepped >= step_bound then
                        crowded = true
                        break
                    end
                end
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
    return claimed - before
end

-- The first job of tenant `tenant` in `queue` that fits, if any; returns
-- whether one was taken.
local function head(queue, tenant)
    if not tenant_open(tenant) then
        return false
    end
    local key = twait_key(queue, tenant)
    local at = 0
    while true do
        local members = redis.call('ZRANGE', key, at, at + 9)
        for _, m in ipairs(members) do
            if take(queue, m, tenant) then
                redis.call('ZREM', P .. ':wait:' .. queue, m)
                return true
            end
            if not tenant_open(tenant) then
                return false
            end
        end
        if #members < 10 then
            return false
        end
        at = at + 10
    end
end

-- Rounds over the tenants with due jobs in `queue`, in name order from
-- after `after` ('' starts a round), each giving its first job that fits.
-- At a round's end `round_end(took)` (`took`: whether that round took a
-- job) says whether another round starts. Returns true when a round's
-- start found no tenant with due jobs.
local function rounds(queue, after, round_end)
    local tenants = P .. ':tenants:' .. queue
    local took = false
    while qroom > 0 and any_room > 0 do
        local from = '-'
        if after ~= '' then
            from = '(' .. after
        end
        local names = redis.call('ZRANGE', tenants, from, '+', 'BYLEX', 'LIMIT', 0, 100)
        if #names == 0 then
            if after == '' then
                return true
            end
            if not round_end(took) then
                return false
            end
            took = false
            after = ''
        else
            for _, name in ipairs(names) do
                if qroom <= 0 or any_room <= 0 then
                    break
                end
                if head(queue, name) then
                    took = true
                end
                after = name
            end
        end
    end
    return false
end

-- The claim's way past a crowd of paused or full tenants' jobs: rounds
-- over the tenants with room until a round takes nothing.
local function open_heads(queue)
    rounds(queue, '', function(took)
        return took
    end)
end

-- A fair queue: rounds from after `after`, each ending with the queue's
-- first job that fits in its usual order. Returns whether the queue is
-- left to its usual order: when no tenant has due jobs (those without a
-- tenant are then all that waits), not when a round's end found nothing
-- (its scan saw every job already).
local function fair(queue, after)
    return rounds(queue, after, function()
        return ordered(queue, 1) > 0
    end)
end

for _, q in ipairs(queues) do
    qroom = limit - claimed
    if q[2] >= 0 then
        qroom = math.min(qroom, q[2])
    end
    crowded = false
    step_bound = STEP_BOUND
    if not q[3] or fair(q[1], q[4]) then
        ordered(q[1], qroom)
    end
    if crowded then
        open_heads(q[1])
        -- Jobs without a tenant may wait behind the crowd: looked for only
        -- when some wait.
        local left = tonumber(redis.call('HGET', P .. ':untenanted', q[1]) or '0')
            - (untenanted_taken[q[1]] or 0)
        if left > 0 then
            crowded = false
            step_bound = math.huge
            ordered(q[1], qroom)
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
for tenant, n in pairs(started_tenant) do
    redis.call('HINCRBY', P .. ':running_tenant', tenant, n)
end
for queue, n in pairs(untenanted_taken) do
    count_untenanted(queue, -n)
end
batch_apply(moves, nil, false)
return out
