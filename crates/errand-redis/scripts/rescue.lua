-- ARGV: prefix, now, now as RFC 3339 (for the error). Jobs whose lease ended
-- before now have used their attempt: they record "lease expired" and wait
-- again, or fail for good without attempts left. Returns their ids.
local now = ARGV[2]
local expired = redis.call('ZRANGEBYSCORE', P .. ':running', '-inf', '(' .. now)
local woke = false
for _, id in ipairs(expired) do
    local jk = jkey(id)
    local kind, queue, priority, attempt, max_attempts, worker, errors, ukey, uscope =
        unpack(redis.call('HMGET', jk, 'kind', 'queue', 'priority', 'attempt', 'max_attempts',
            'worker', 'errors', 'unique_key', 'unique_scope'))
    stop_running(id, kind)
    redis.call('HSET', jk, 'errors', with_error(errors, cjson.encode({
        attempt = tonumber(attempt),
        at = ARGV[3],
        message = 'lease expired (worker ' .. (worker or '?') .. ' stopped renewing it)',
        kind = 'lease_expired',
    })))
    if tonumber(attempt) >= tonumber(max_attempts) then
        redis.call('HSET', jk, 'state', 'failed', 'finished_at', now, 'run_at', now)
        release_unique(id, ukey, uscope)
    else
        redis.call('HSET', jk, 'state', 'available', 'run_at', now)
        place(id, queue, priority, now, now)
        woke = true
    end
end
if woke then
    wake()
end
return expired
