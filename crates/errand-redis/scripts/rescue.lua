-- ARGV: prefix, origin, now, now as RFC 3339 (for the error). Jobs whose lease ended
-- before now have used their attempt: they record "lease expired" and wait
-- again, or fail for good without attempts left. Returns their ids.
local now = ARGV[3]
local expired = redis.call('ZRANGEBYSCORE', P .. ':running', '-inf', '(' .. now)
if #expired == 0 then
    return expired
end
local records = hmget_in_slices(P .. ':claims', expired)
local woke = false
local per_kind = {}
for i, id in ipairs(expired) do
    local jk = jkey(id)
    local attempt, started_at, _, kind, worker = parse_claim(records[i])
    local queue, priority, max_attempts, errors, ukey, uscope = unpack(redis.call('HMGET', jk, 'queue',
        'priority', 'max_attempts', 'errors', 'unique_key', 'unique_scope'))
    per_kind[kind] = (per_kind[kind] or 0) + 1
    errors = with_error(errors, cjson.encode({
        attempt = attempt,
        at = ARGV[4],
        message = 'lease expired (worker ' .. worker .. ' stopped renewing it)',
        kind = 'lease_expired',
    }))
    if attempt >= tonumber(max_attempts) then
        redis.call('HSET', jk, 'state', 'failed', 'finished_at', now, 'run_at', now, 'errors', errors,
            'attempt', attempt, 'worker', worker, 'started_at', started_at)
        release_unique(id, ukey, uscope)
    else
        redis.call('HSET', jk, 'state', 'available', 'run_at', now, 'errors', errors, 'attempt', attempt,
            'worker', worker, 'started_at', started_at)
        place(id, queue, priority, now, now, attempt, uscope, kind)
        woke = true
    end
end
end_claims(expired, per_kind)
if woke then
    wake()
end
return expired
