-- ARGV: prefix, worker, lease_until, count, then id and attempt per job.
-- Returns held (0/1) and cancel_requested (0/1) per job.
local worker, lease = ARGV[2], ARGV[3]
local out = {}
for i = 0, tonumber(ARGV[4]) - 1 do
    local id, attempt = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
    local jk = jkey(id)
    local state, current, holder, cancel =
        unpack(redis.call('HMGET', jk, 'state', 'attempt', 'worker', 'cancel_requested'))
    if state == 'running' and current == attempt and holder == worker then
        redis.call('HSET', jk, 'lease_until', lease)
        redis.call('ZADD', P .. ':running', lease, id)
        out[#out + 1] = 1
        out[#out + 1] = tonumber(cancel)
    else
        out[#out + 1] = 0
        out[#out + 1] = 0
    end
end
return out
