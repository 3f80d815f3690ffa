-- ARGV: prefix, origin, tenant ('' for all), '1' to count per tenant. The
-- counts that need no walk over the jobs: finished jobs from <P>:finished,
-- due waiting jobs from the wait sets of each queue (or the tenant's),
-- running jobs from their claims (as many as workers hold). Jobs not yet
-- due (<P>:scheduled) are read by the caller in pages. Returns {finished
-- fields and counts (flat), {queue, tenant ('' for none, or for all when
-- not per tenant), due count} per queue, {queue, tenant ('' for none)} per
-- running job}.
local tenant, per_tenant = ARGV[3], ARGV[4] == '1'
local finished = redis.call('HGETALL', P .. ':finished')
local due = {}
for _, queue in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
    if tenant ~= '' then
        local n = redis.call('ZCARD', twait_key(queue, tenant))
        if n > 0 then
            due[#due + 1] = { queue, tenant, n }
        end
    else
        local n = redis.call('ZCARD', P .. ':wait:' .. queue)
        if per_tenant then
            -- Each tenant's from its own wait set; what is left has none.
            for _, t in ipairs(redis.call('ZRANGE', P .. ':tenants:' .. queue, 0, -1)) do
                local of = redis.call('ZCARD', twait_key(queue, t))
                if of > 0 then
                    due[#due + 1] = { queue, t, of }
                    n = n - of
                end
            end
        end
        if n > 0 then
            due[#due + 1] = { queue, '', n }
        end
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
