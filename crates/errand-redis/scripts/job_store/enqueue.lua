-- ARGV: prefix, origin, now, count, then 10 fields per job: kind, queue, priority,
-- tenant, max_attempts, run_at, unique_key, unique_scope, unique_until, spec
-- ('' is null). `spec` is the JSON of what never changes (input, meta,
-- creation time, batch, cron entry, and again kind, queue, priority, tenant
-- and unique key, which scripts read as fields of their own).
-- Returns id, duplicate (0/1) per job. A duplicate is the job holding the
-- unique key (possibly an earlier job of the same call); a `period` key whose
-- time is over is released first.
local now = ARGV[3]
local n = tonumber(ARGV[4])
local function arg(i, field)
    return ARGV[4 + (i - 1) * 10 + field]
end

-- First pass: which jobs are new, and which duplicate a held key.
local holders = {}
local fresh = 0
local in_call = {}
for i = 1, n do
    local ukey = arg(i, 7)
    if ukey ~= '' then
        if in_call[ukey] then
            holders[i] = in_call[ukey]
        else
            local slot = P .. ':unique:' .. ukey
            local holder = redis.call('GET', slot)
            if holder then
                local held_until = redis.call('HGET', jkey(holder), 'unique_until')
                if held_until and tonumber(held_until) <= tonumber(now) then
                    redis.call('DEL', slot)
                    holder = false
                end
            end
            if holder then
                holders[i] = holder
            else
                in_call[ukey] = -i
            end
        end
    end
    if not holders[i] then
        fresh = fresh + 1
    end
end

-- Second pass: ids in input order, one hash per job; index entries are
-- gathered and written once per key.
local next_id = 0
if fresh > 0 then
    next_id = redis.call('INCRBY', P .. ':seq', fresh) - fresh
end
local ids = {}
local all, scheduled, waiting, queues = {}, {}, {}, {}
local due = false
local out = {}
for i = 1, n do
    local holder = holders[i]
    if holder and tonumber(holder) < 0 then
        holder = ids[-tonumber(holder)]
    end
    if holder then
        out[#out + 1] = holder
        out[#out + 1] = 1
    else
        next_id = next_id + 1
        local id = next_id
        ids[i] = id
        local queue, priority, run_at, ukey = arg(i, 2), arg(i, 3), arg(i, 6), arg(i, 7)
        local fields = {
            'spec', arg(i, 10), 'kind', arg(i, 1), 'queue', queue, 'priority', priority, 'errors', '[]',
            'state', 'available', 'attempt', 0, 'max_attempts', arg(i, 5), 'run_at', run_at,
        }
        local optional = { 'tenant', 4, 'unique_key', 7, 'unique_scope', 8, 'unique_until', 9 }
        for o = 1, #optional, 2 do
            local value = arg(i, optional[o + 1])
            if value ~= '' then
                fields[#fields + 1] = optional[o]
                fields[#fields + 1] = value
            end
        end
        redis.call('HSET', jkey(id), unpack(fields))
        if ukey ~= '' then
            redis.call('SET', P .. ':unique:' .. ukey, id)
        end
        all[#all + 1] = id
        all[#all + 1] = id
        if tonumber(run_at) <= tonumber(now) then
            local list = waiting[queue]
            if not list then
                list = {}
                waiting[queue] = list
                queues[#queues + 1] = queue
            end
            list[#list + 1] = priority
            list[#list + 1] = member(run_at, id, 0, arg(i, 8), arg(i, 1))
            due = true
        else
            if not waiting[queue] then
                waiting[queue] = {}
                queues[#queues + 1] = queue
            end
            scheduled[#scheduled + 1] = run_at
            scheduled[#scheduled + 1] = id
        end
        out[#out + 1] = id
        out[#out + 1] = 0
    end
end
if #all > 0 then
    call_in_slices('ZADD', P .. ':jobs', all)
    call_in_slices('SADD', P .. ':queues', queues)
end
for queue, list in pairs(waiting) do
    if #list > 0 then
        call_in_slices('ZADD', P .. ':wait:' .. queue, list)
    end
end
if #scheduled > 0 then
    call_in_slices('ZADD', P .. ':scheduled', scheduled)
end
if due then
    wake()
end
return out
