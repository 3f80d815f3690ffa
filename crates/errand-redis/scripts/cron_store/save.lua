-- ARGV: prefix, origin, now, mode (create/update/upsert), ekey, next_fire_at
-- ('' for none), then field, value pairs of the definition ('' is none).
-- An existing entry keeps its enabled flag and note; its next fire time
-- changes only with its schedule or zone (or when it had none left).
-- Returns the entry's fields, or 'exists' / 'missing'.
local now, mode, ekey, next_fire_at = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = ckey(ekey)
local exists = redis.call('EXISTS', key) == 1
if exists and mode == 'create' then
    return 'exists'
end
if not exists and mode == 'update' then
    return 'missing'
end
local set, unset = {}, {}
local schedule, zone
for i = 7, #ARGV, 2 do
    local field, value = ARGV[i], ARGV[i + 1]
    if value == '' then
        unset[#unset + 1] = field
    else
        set[#set + 1] = field
        set[#set + 1] = value
    end
    if field == 'schedule' then
        schedule = value
    elseif field == 'zone' then
        zone = value
    end
end
local moves = true
if exists then
    local old_schedule, old_zone, old_next = unpack(redis.call('HMGET', key, 'schedule', 'zone', 'next_fire_at'))
    moves = old_schedule ~= schedule or old_zone ~= zone or not old_next
else
    set[#set + 1] = 'enabled'
    set[#set + 1] = '1'
    set[#set + 1] = 'created_at'
    set[#set + 1] = now
    redis.call('ZADD', P .. ':cron_entries', 0, ekey)
end
set[#set + 1] = 'updated_at'
set[#set + 1] = now
if #unset > 0 then
    redis.call('HDEL', key, unpack(unset))
end
redis.call('HSET', key, unpack(set))
if moves then
    if next_fire_at == '' then
        redis.call('HDEL', key, 'next_fire_at')
    else
        redis.call('HSET', key, 'next_fire_at', next_fire_at)
    end
    cron_schedule(ekey, next_fire_at)
end
return redis.call('HGETALL', key)
