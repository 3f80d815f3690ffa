-- ARGV: prefix, origin, now, limit, then kinds. Entries of those kinds with
-- a fire time due at `now` or a buffered fire, earliest first (buffered
-- ones after), at most `limit`: each as its list of fields.
local now, limit = ARGV[3], tonumber(ARGV[4])
local kinds = {}
for i = 5, #ARGV do
    kinds[ARGV[i]] = true
end
local out = {}
local seen = {}
local function take(ekey)
    if #out >= limit or seen[ekey] then
        return
    end
    seen[ekey] = true
    local key = ckey(ekey)
    if kinds[redis.call('HGET', key, 'kind')] then
        out[#out + 1] = redis.call('HGETALL', key)
    end
end
local offset = 0
while #out < limit do
    local page = redis.call('ZRANGEBYSCORE', P .. ':cron_due', '-inf', now, 'LIMIT', offset, 500)
    for _, ekey in ipairs(page) do
        take(ekey)
    end
    if #page < 500 then
        break
    end
    offset = offset + 500
end
if #out < limit then
    for _, ekey in ipairs(redis.call('SMEMBERS', P .. ':cron_buffered')) do
        take(ekey)
    end
end
return out
