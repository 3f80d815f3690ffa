-- ARGV: prefix, origin, now, ekey, enabled (0/1), note ('' for none).
-- Returns the entry's fields, or 'missing'.
local now, ekey, enabled, note = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = ckey(ekey)
if redis.call('EXISTS', key) == 0 then
    return 'missing'
end
redis.call('HSET', key, 'enabled', enabled, 'updated_at', now)
if note == '' then
    redis.call('HDEL', key, 'note')
else
    redis.call('HSET', key, 'note', note)
end
return redis.call('HGETALL', key)
