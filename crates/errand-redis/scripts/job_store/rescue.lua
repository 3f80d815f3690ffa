-- ARGV: prefix, origin, now, now as RFC 3339 (for the error). Jobs whose lease ended
-- before now have used their attempt: they record "lease expired" and wait
-- again, or fail for good without attempts left. Returns their ids.
local now = ARGV[3]
local expired = redis.call('ZRANGEBYSCORE', P .. ':running', '-inf', '(' .. now)
if #expired == 0 then
    return expired
end
local records = hmget_in_slices(P .. ':claims', expired)
rescue_claims(expired, records, now, ARGV[4], function(worker)
    return 'lease expired (worker ' .. worker .. ' stopped renewing it)'
end)
return expired
