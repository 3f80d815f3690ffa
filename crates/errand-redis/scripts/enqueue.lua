-- ARGV: prefix, now, count, then 14 fields per job: kind, queue, priority,
-- tenant, input, max_attempts, run_at, unique_key, unique_scope,
-- unique_until, batch_id, cron_name, cron_fire_at, meta ('' is null).
-- Returns id, duplicate (0/1) per job. A duplicate is the job holding the
-- unique key; a `period` key whose time is over is released first.
local now = ARGV[2]
local n = tonumber(ARGV[3])
local out = {}
local due = false
local function optional(fields, name, value)
    if value ~= '' then
        fields[#fields + 1] = name
        fields[#fields + 1] = value
    end
end
for i = 0, n - 1 do
    local b = 3 + i * 14
    local kind, queue, priority, tenant = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    local input, max_attempts, run_at = ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]
    local ukey, uscope, uuntil = ARGV[b + 8], ARGV[b + 9], ARGV[b + 10]
    local batch, cron_name, cron_fire, meta = ARGV[b + 11], ARGV[b + 12], ARGV[b + 13], ARGV[b + 14]
    local holder = false
    if ukey ~= '' then
        local slot = P .. ':unique:' .. ukey
        holder = redis.call('GET', slot)
        if holder then
            local held_until = redis.call('HGET', jkey(holder), 'unique_until')
            if held_until and tonumber(held_until) <= tonumber(now) then
                redis.call('DEL', slot)
                holder = false
            end
        end
    end
    if holder then
        out[#out + 1] = holder
        out[#out + 1] = 1
    else
        local id = redis.call('INCR', P .. ':seq')
        local fields = {
            'kind', kind, 'queue', queue, 'priority', priority, 'input', input,
            'errors', '[]', 'state', 'available', 'attempt', 0,
            'max_attempts', max_attempts, 'run_at', run_at, 'created_at', now,
            'meta', meta, 'cancel_requested', 0,
        }
        optional(fields, 'tenant', tenant)
        optional(fields, 'unique_key', ukey)
        optional(fields, 'unique_scope', uscope)
        optional(fields, 'unique_until', uuntil)
        optional(fields, 'batch_id', batch)
        optional(fields, 'cron_name', cron_name)
        optional(fields, 'cron_fire_at', cron_fire)
        redis.call('HSET', jkey(id), unpack(fields))
        redis.call('ZADD', P .. ':jobs', id, id)
        redis.call('SADD', P .. ':queues', queue)
        place(id, queue, priority, run_at, now)
        if ukey ~= '' then
            redis.call('SET', P .. ':unique:' .. ukey, id)
        end
        if tonumber(run_at) <= tonumber(now) then
            due = true
        end
        out[#out + 1] = id
        out[#out + 1] = 0
    end
end
if due then
    wake()
end
return out
