-- ARGV: prefix, origin, scope field. Returns the pause removed, or nil.
local key = P .. ':pauses'
local pause = redis.call('HGET', key, ARGV[3])
if pause then
    redis.call('HDEL', key, ARGV[3])
end
return pause
