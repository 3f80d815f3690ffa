-- ARGV: prefix, origin, then ekeys. Where each entry stands: per ekey,
-- exists (0/1), enabled, next_fire_at, last_fire_at, buffered_fire_at,
-- last_job_id ('' for none) and whether that job exists unfinished (0/1).
local out = {}
for i = 3, #ARGV do
    local key = ckey(ARGV[i])
    local enabled, next_fire_at, last_fire_at, buffered, last_job = unpack(redis.call('HMGET', key, 'enabled',
        'next_fire_at', 'last_fire_at', 'buffered_fire_at', 'last_job_id'))
    local unfinished = 0
    if last_job then
        local state = redis.call('HGET', jkey(last_job), 'state')
        if state and state ~= 'completed' and state ~= 'failed' and state ~= 'cancelled' then
            unfinished = 1
        end
    end
    if enabled then
        out[#out + 1] = 1
    else
        out[#out + 1] = 0
    end
    out[#out + 1] = enabled or ''
    out[#out + 1] = next_fire_at or ''
    out[#out + 1] = last_fire_at or ''
    out[#out + 1] = buffered or ''
    out[#out + 1] = last_job or ''
    out[#out + 1] = unfinished
end
return out
