-- ARGV: prefix, origin. Per queue with due jobs (its wait set; scheduled
-- jobs join it when a claim finds them due): the count and the oldest
-- run_at. A wait set sorts by priority, then run_at: the oldest is the
-- least of the first member of each priority. Returns {queue, count,
-- oldest run_at} per queue.
local out = {}
for _, queue in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
    local key = P .. ':wait:' .. queue
    local n = redis.call('ZCARD', key)
    if n > 0 then
        local oldest, min = nil, '-inf'
        while true do
            local first = redis.call('ZRANGE', key, min, '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
            if #first == 0 then
                break
            end
            local run_at = tonumber(string.sub(first[1], 1, 16))
            if not oldest or run_at < oldest then
                oldest = run_at
            end
            min = '(' .. first[2]
        end
        out[#out + 1] = { queue, n, oldest }
    end
end
return out
