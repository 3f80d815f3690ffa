-- ARGV: prefix, origin, worker, lease_until, count, then id and attempt per job.
-- Returns held (0/1) and cancel_requested (0/1) per job.
local worker, lease = ARGV[3], ARGV[4]
local count = tonumber(ARGV[5])
local ids = {}
for i = 1, count do
    ids[i] = ARGV[4 + 2 * i]
end
local records = hmget_in_slices(P .. ':claims', ids)
local out = {}
local leases = {}
for i = 1, count do
    local attempt, _, _, _, holder = parse_claim(records[i])
    if attempt == tonumber(ARGV[5 + 2 * i]) and holder == worker then
        leases[#leases + 1] = lease
        leases[#leases + 1] = ids[i]
        out[#out + 1] = 1
        out[#out + 1] = redis.call('SISMEMBER', P .. ':cancel', ids[i])
    else
        out[#out + 1] = 0
        out[#out + 1] = 0
    end
end
if #leases > 0 then
    call_in_slices('ZADD', P .. ':running', leases)
end
return out
