-- ARGV: prefix, origin, ekey. The ledger and the fired guard stay: their
-- fire times are never decided again. Returns 1, or 0 when missing.
local ekey = ARGV[3]
if redis.call('DEL', ckey(ekey)) == 0 then
    return 0
end
redis.call('ZREM', P .. ':cron_entries', ekey)
redis.call('ZREM', P .. ':cron_due', ekey)
redis.call('SREM', P .. ':cron_buffered', ekey)
return 1
