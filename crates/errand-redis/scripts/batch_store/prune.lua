-- ARGV: prefix, origin, finished before (micros), most batches to delete.
-- Deletes the records of the batches that finished before the time, the
-- oldest first: the hash, the set of its job ids (unlinked, so a large set
-- is freed off the script) and its entries in the batch indexes. Its jobs
-- stay, under their own retention. Returns the deleted ids.
local before, limit = ARGV[3], tonumber(ARGV[4])
local ids = redis.call('ZRANGE', P .. ':batches_finished', '-inf', '(' .. before, 'BYSCORE', 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
    local bk = bkey(id)
    local tenant = redis.call('HGET', bk, 'tenant')
    if tenant then
        redis.call('ZREM', P .. ':tenant_batches:' .. tenant, id)
    end
    redis.call('DEL', bk)
    redis.call('UNLINK', P .. ':batch_jobs:' .. id)
    redis.call('ZREM', P .. ':batches', id)
    redis.call('ZREM', P .. ':batches_finished', id)
    redis.call('ZREM', P .. ':batches_hook_pending', id)
end
return ids
