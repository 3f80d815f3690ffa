-- ARGV: prefix, origin, now, entry count, job count, then per entry: ekey,
-- the state its decisions were made on (enabled, next_fire_at,
-- buffered_fire_at, last_job_id; '' is none), its new next_fire_at,
-- last_fire_at, buffered_fire_at, record count, then 6 fields per record:
-- fire_at, decided_at, reason, fires, job (the index of its job among the
-- jobs, 0 for none), releases_buffer (0/1); then JOB_FIELDS fields per job (see
-- `enqueue_jobs`). An entry whose state moved meanwhile is lost: nothing
-- of it is written. A record whose fire time the guard holds is dropped
-- with its job (manual records and releases are not fire times of the
-- schedule). Returns per entry 'lost' or the JSON of its records.
local now = ARGV[3]
local entries, njobs = tonumber(ARGV[4]), tonumber(ARGV[5])
local job_base = 0
local at = 6
local plans = {}
for e = 1, entries do
    local plan = {
        ekey = ARGV[at], enabled = ARGV[at + 1], next = ARGV[at + 2], buffered = ARGV[at + 3],
        last_job = ARGV[at + 4], new_next = ARGV[at + 5], new_last = ARGV[at + 6],
        new_buffered = ARGV[at + 7], records = {},
    }
    local count = tonumber(ARGV[at + 8])
    at = at + 9
    for r = 1, count do
        plan.records[r] = {
            fire_at = ARGV[at], decided_at = ARGV[at + 1], reason = ARGV[at + 2], fires = ARGV[at + 3],
            job = tonumber(ARGV[at + 4]), releases = ARGV[at + 5],
        }
        at = at + 6
    end
    plans[e] = plan
end
job_base = at - 1

-- Which entries still stand where their decisions were made, and which
-- records the guard lets through.
local jobs = {}
for _, plan in ipairs(plans) do
    local key = ckey(plan.ekey)
    local enabled, next_fire_at, buffered, last_job = unpack(redis.call('HMGET', key, 'enabled',
        'next_fire_at', 'buffered_fire_at', 'last_job_id'))
    plan.lost = not enabled or enabled ~= plan.enabled or (next_fire_at or '') ~= plan.next
        or (buffered or '') ~= plan.buffered or (last_job or '') ~= plan.last_job
    if not plan.lost then
        local fired = P .. ':cron_fired:' .. plan.ekey
        for _, record in ipairs(plan.records) do
            record.keep = record.releases == '1' or record.reason == 'manual' or record.reason == 'buffered'
                or not redis.call('ZSCORE', fired, record.fire_at)
            if record.keep and record.job > 0 then
                jobs[#jobs + 1] = record.job
                record.slot = #jobs
            end
        end
    end
end
local ids = {}
if #jobs > 0 then
    local out = enqueue_jobs(now, #jobs, function(i, field)
        return ARGV[job_base + (jobs[i] - 1) * JOB_FIELDS + field]
    end)
    for i = 1, #jobs do
        ids[i] = out[2 * i - 1]
    end
end

local results = {}
for e, plan in ipairs(plans) do
    if plan.lost then
        results[e] = 'lost'
    else
        local key = ckey(plan.ekey)
        local ledger = P .. ':cron_ledger:' .. plan.ekey
        local fired = P .. ':cron_fired:' .. plan.ekey
        local kept = {}
        local last_job = nil
        for _, record in ipairs(plan.records) do
            if record.keep then
                local job_id = ''
                if record.slot then
                    job_id = tostring(ids[record.slot])
                    last_job = job_id
                end
                local json = cjson.encode({
                    fire_at = record.fire_at, decided_at = record.decided_at, reason = record.reason,
                    fires = record.fires, job_id = job_id,
                })
                if record.releases == '1' then
                    -- The release replaces the fire's `buffered` record.
                    for _, stored in ipairs(redis.call('LRANGE', ledger, 0, -1)) do
                        local old = cjson.decode(stored)
                        if old.reason == 'buffered' and old.fire_at == record.fire_at then
                            redis.call('LREM', ledger, 1, stored)
                            break
                        end
                    end
                end
                redis.call('LPUSH', ledger, json)
                if record.reason ~= 'manual' and record.reason ~= 'buffered' then
                    redis.call('ZADD', fired, record.fire_at, record.fire_at)
                end
                kept[#kept + 1] = json
            end
        end
        redis.call('LTRIM', ledger, 0, 99)
        redis.call('ZREMRANGEBYRANK', fired, 0, -101)
        local set, unset = {}, {}
        for _, pair in ipairs({ { 'next_fire_at', plan.new_next }, { 'last_fire_at', plan.new_last },
            { 'buffered_fire_at', plan.new_buffered }, { 'last_job_id', last_job or '' } }) do
            if pair[2] ~= '' then
                set[#set + 1] = pair[1]
                set[#set + 1] = pair[2]
            elseif pair[1] ~= 'last_job_id' then
                unset[#unset + 1] = pair[1]
            end
        end
        if #set > 0 then
            redis.call('HSET', key, unpack(set))
        end
        if #unset > 0 then
            redis.call('HDEL', key, unpack(unset))
        end
        cron_schedule(plan.ekey, plan.new_next)
        if plan.new_buffered ~= '' then
            redis.call('SADD', P .. ':cron_buffered', plan.ekey)
        else
            redis.call('SREM', P .. ':cron_buffered', plan.ekey)
        end
        results[e] = '[' .. table.concat(kept, ',') .. ']'
    end
end
return results
