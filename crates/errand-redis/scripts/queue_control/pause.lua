-- ARGV: prefix, origin, scope field ('<scope> <name>'), pause (JSON). A pause
-- in force is kept. Returns 1 and the stored pause, or 0 and the one found.
local key = P .. ':pauses'
if redis.call('HSETNX', key, ARGV[3], ARGV[4]) == 1 then
    return { 1, ARGV[4] }
end
return { 0, redis.call('HGET', key, ARGV[3]) }
