-- Shared by every script (prepended when the scripts are built). ARGV[1] is
-- the key prefix; it carries a hash tag, so every key below lands in one
-- Redis Cluster slot. KEYS[1] is `<prefix>:jobs`, named so that a cluster
-- routes the script to that slot.
--
-- Keys: <P>:seq (ids), <P>:job:<id> (hash of one job; times in unix
-- microseconds; absent fields are null), <P>:jobs (every id, scored by id),
-- <P>:wait:<queue> (due waiting jobs: score = priority, member = run_at and id
-- zero-padded, so equal priorities sort by run_at then id), <P>:scheduled
-- (waiting jobs not yet due, by run_at), <P>:running (claimed jobs, by lease
-- end), <P>:running_kind (running jobs per kind, for global limits),
-- <P>:unique:<key> (the id holding a unique key), <P>:queues (queue names),
-- <P>:wake (the wake-up channel).
local P = ARGV[1]

local function jkey(id)
    return P .. ':job:' .. id
end

local function member(run_at, id)
    return string.format('%016d%020d', tonumber(run_at), tonumber(id))
end

-- Puts a waiting job where claims find it: in its queue's wait set when
-- due, else in the schedule, from which claims promote it once due.
local function place(id, queue, priority, run_at, now)
    if tonumber(run_at) <= tonumber(now) then
        redis.call('ZADD', P .. ':wait:' .. queue, priority, member(run_at, id))
    else
        redis.call('ZADD', P .. ':scheduled', run_at, id)
    end
end

local function unplace(id, queue, run_at)
    redis.call('ZREM', P .. ':wait:' .. queue, member(run_at, id))
    redis.call('ZREM', P .. ':scheduled', id)
end

-- A key of scope `active` is free again once its job has finished.
local function release_unique(id, key, scope)
    if key and scope == 'active' then
        local slot = P .. ':unique:' .. key
        if redis.call('GET', slot) == tostring(id) then
            redis.call('DEL', slot)
        end
    end
end

-- `errors` (a JSON array) with one more attempt error `err` (JSON).
local function with_error(errors, err)
    if not errors or errors == '[]' then
        return '[' .. err .. ']'
    end
    return string.sub(errors, 1, -2) .. ',' .. err .. ']'
end

local function stop_running(id, kind)
    redis.call('ZREM', P .. ':running', id)
    if tonumber(redis.call('HINCRBY', P .. ':running_kind', kind, -1)) <= 0 then
        redis.call('HDEL', P .. ':running_kind', kind)
    end
    redis.call('HDEL', jkey(id), 'lease_until')
end

-- `redis.call(command, key, items...)` in slices, as Lua limits how many
-- values one call can unpack. Slices are even, so pairs stay whole.
local function call_in_slices(command, key, items)
    for first = 1, #items, 1000 do
        redis.call(command, key, unpack(items, first, math.min(first + 999, #items)))
    end
end

local function wake()
    redis.call('PUBLISH', P .. ':wake', '')
end
