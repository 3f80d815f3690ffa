-- ARGV: prefix, origin, tenant ('' for all). The counts that need no walk
-- over the jobs: finished jobs from <P>:finished, due waiting jobs from the
-- wait sets of each queue (or the tenant's), running jobs from their claims
-- (as many as workers hold). Jobs not yet due (<P>:scheduled) are read by
-- the caller in pages. Returns {finished fields and counts (flat), {queue,
-- due count} per queue, {queue, tenant ('' for none)} per running job}.
local tenant = ARGV[3]
local finished = redis.call('HGETALL', P .. ':finished')
local due = {}
for _, queue in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
    local n
    if tenant == '' then
        n = redis.call('ZCARD', P .. ':wait:' .. queue)
    else
        n = redis.call('ZCARD', twait_key(queue, tenant))
    end
    if n > 0 then
        due[#due + 1] = { queue, n }
    end
end
local running = {}
for _, id in ipairs(redis.call('HKEYS', P .. ':claims')) do
    if id ~= '0' then
        local queue, t = unpack(redis.call('HMGET', jkey(id), 'queue', 'tenant'))
        if queue then
            running[#running + 1] = { queue, t or '' }
        end
    end
end
return { finished, due, running }
