-- ARGV: prefix, origin, after this id, most jobs. Puts the jobs after the
-- given id (at most that many, in id order) into the sets listings walk
-- (see `index_job`): the upgrade of a layout-4 store, whose jobs are in
-- none of them. Returns the last id looked at, or 0 when none was left.
local after, limit = ARGV[3], tonumber(ARGV[4])
local ids = redis.call('ZRANGE', P .. ':jobs', '(' .. after, '+inf', 'BYSCORE', 'LIMIT', 0, limit)
local index = {}
for _, id in ipairs(ids) do
    local kind, queue, tenant, ukey, errors = unpack(redis.call('HMGET', jkey(id), 'kind', 'queue', 'tenant',
        'unique_key', 'errors'))
    if kind then
        index_job(index, id, kind, queue, tenant, ukey)
        if errors and errors ~= '[]' then
            redis.call('ZADD', P .. ':erred', id, id)
        end
    end
end
for key, list in pairs(index) do
    call_in_slices('ZADD', key, list)
end
if #ids < limit then
    return 0
end
return ids[#ids]
