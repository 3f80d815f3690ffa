-- ARGV: prefix, origin, worker, claimed before, now, now as RFC 3339, then the
-- ids the worker holds. The worker's other claims started before that time
-- are ones it never got or whose result the store lost: they are rescued
-- as expired leases are. Returns their ids. Reads every claim: rare (after
-- a worker saw the store fail) and bounded by the jobs running at once.
local worker, before, now = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local held = {}
for i = 7, #ARGV do
    held[ARGV[i]] = true
end
local claims = redis.call('HGETALL', P .. ':claims')
local ids, records = {}, {}
for i = 1, #claims, 2 do
    local id, record = claims[i], claims[i + 1]
    if id ~= '0' and not held[id] then
        local _, started_at, _, _, holder = parse_claim(record)
        if holder == worker and tonumber(started_at) < before then
            ids[#ids + 1] = id
            records[#records + 1] = record
        end
    end
end
if #ids > 0 then
    rescue_claims(ids, records, now, ARGV[6], function(w)
        return 'worker ' .. w .. ' no longer runs this attempt: its claim or its result was lost between the worker and the store'
    end)
end
return ids
