-- ARGV: prefix, now, tenant ('' for all). Returns queue, public state, count
-- triples. It reads every job: statistics are for operators, not hot paths.
local now, tenant = tonumber(ARGV[2]), ARGV[3]
local counts = {}
local ids = redis.call('ZRANGE', P .. ':jobs', 0, -1)
local running = {}
for _, id in ipairs(redis.call('HKEYS', P .. ':claims')) do
    running[id] = true
end
for _, id in ipairs(ids) do
    local queue, state, run_at, attempt, t =
        unpack(redis.call('HMGET', jkey(id), 'queue', 'state', 'run_at', 'attempt', 'tenant'))
    if state and (tenant == '' or t == tenant) then
        if running[id] then
            state = 'running'
        elseif state == 'available' then
            if tonumber(run_at) > now then
                if tonumber(attempt) == 0 then
                    state = 'scheduled'
                else
                    state = 'retrying'
                end
            end
        end
        local key = queue .. '\n' .. state
        counts[key] = (counts[key] or 0) + 1
    end
end
local out = {}
for key, n in pairs(counts) do
    local cut = string.find(key, '\n', 1, true)
    out[#out + 1] = string.sub(key, 1, cut - 1)
    out[#out + 1] = string.sub(key, cut + 1)
    out[#out + 1] = n
end
return out
