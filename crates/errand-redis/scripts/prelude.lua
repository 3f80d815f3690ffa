-- Shared by every script (prepended when the scripts are built). ARGV[1] is
-- the key prefix; it carries a hash tag, so every key below lands in one
-- Redis Cluster slot. KEYS[1] is `<prefix>:jobs`, named so that a cluster
-- routes the script to that slot. ARGV[2] is the calling store's origin,
-- the message of its wake-ups: its own listener drops them (that store has
-- woken its workers already). A script's own arguments start at ARGV[3].
--
-- Keys: <P>:seq (ids), <P>:job:<id> (hash of one job; times in unix
-- microseconds; absent fields are null), <P>:jobs (every id, scored by id),
-- <P>:wait:<queue> (due waiting jobs: score = priority, member = see
-- `member`, so equal priorities sort by run_at then id), <P>:scheduled
-- (waiting jobs not yet due, by run_at), <P>:running (claimed jobs, by lease
-- end), <P>:claims (the claim of each running job, see `claim_record`,
-- and a field `0` that keeps it a hash table, see claim.lua),
-- <P>:cancel (running jobs asked to stop), <P>:running_kind (running jobs
-- per kind, for global limits), <P>:running_tenant (running jobs per tenant,
-- for tenant limits), <P>:twait:<queue> <tenant> (a tenant's due waiting
-- jobs of a queue, as in the wait set), <P>:tenants:<queue> (the tenants
-- with due waiting jobs in a queue, score 0, in name order; both for fair
-- claiming), <P>:untenanted (per queue, how many of its due waiting jobs
-- have no tenant: a claim past a crowd of full tenants' jobs looks for
-- them only when there are some), <P>:unique:<key> (the id holding a unique
-- key), <P>:queues (queue names), <P>:pauses (field '<scope> <name>': a
-- pause as JSON), <P>:wake (the wake-up channel), <P>:batch:<id> (hash of
-- one batch, see `batch_moved`), <P>:batch_jobs:<id> (the ids of its jobs),
-- <P>:batches (every batch id, scored by id), <P>:tenant_batches:<tenant>
-- (a tenant's batch ids, scored by id), <P>:batches_finished (finished
-- batch ids, scored by finish time, for pruning), <P>:batches_hook_pending
-- (finished batches no worker has taken for its batch-finished hooks yet,
-- scored by finish time), <P>:batch_seq (batch ids), <P>:audit,
-- <P>:audit_at and <P>:audit_seq (operators' changes, see audit_log/record.lua),
-- <P>:finished and <P>:ended:<state> (finished jobs counted, failed and
-- cancelled ones listed, see `count_finished`), <P>:kind_jobs:<kind>,
-- <P>:queue_jobs:<queue>, <P>:tenant_jobs:<tenant>, <P>:key_jobs:<key> and
-- <P>:erred (jobs by what listings filter on, see `index_job`).
--
-- A running job is one with an entry in <P>:claims. Claiming writes nothing
-- to the job's hash (that write per job was most of a claim's cost): the
-- hash keeps the state the job was claimed in until the claim ends, when
-- the finalize or the rescue writes the outcome, the attempt, the worker and
-- the start time into it. Readers put the claim over the hash.
local P = ARGV[1]
local ORIGIN = ARGV[2]

local function jkey(id)
    return P .. ':job:' .. id
end

-- 1 when the job holds a unique key that its end releases.
local function releases(uscope)
    if uscope == 'active' then
        return 1
    end
    return 0
end

-- A waiting job's member in its queue's wait set: run_at and id zero-padded
-- (the order), then what a claim needs without reading the job's hash: the
-- attempt its next claim starts (`made` + 1), whether its end releases a
-- unique key, and its kind. A claim copies these as strings (turning a Lua
-- number into a string is one of the dearer steps of a script).
local function member(run_at, id, made, uscope, kind)
    return string.format('%016d%020d%010d%d', tonumber(run_at), tonumber(id), tonumber(made) + 1,
        releases(uscope)) .. kind
end

-- id, next attempt (zero-padded), releases ('0'/'1'), kind of a wait-set
-- member.
local function parse_member(m)
    return string.sub(m, string.match(m, '^0*()', 17), 36), string.sub(m, 37, 46), string.sub(m, 47, 47),
        string.sub(m, 48)
end

-- A tenant's due jobs of a queue (names hold no space), and the tenants
-- with any: fair claims take each tenant's first job through them.
local function twait_key(queue, tenant)
    return P .. ':twait:' .. queue .. ' ' .. tenant
end

-- Counts `n` more (or fewer) due jobs without a tenant in `queue`.
local function count_untenanted(queue, n)
    if tonumber(redis.call('HINCRBY', P .. ':untenanted', queue, n)) <= 0 then
        redis.call('HDEL', P .. ':untenanted', queue)
    end
end

-- Notes a due job joining `queue`'s wait set as member `m`: in its
-- tenant's wait set, or counted as one without a tenant (unless `counted`:
-- the caller counts those itself).
local function tenant_wait(queue, tenant, priority, m, counted)
    if tenant and tenant ~= '' then
        redis.call('ZADD', twait_key(queue, tenant), priority, m)
        redis.call('ZADD', P .. ':tenants:' .. queue, 0, tenant)
    elseif not counted then
        count_untenanted(queue, 1)
    end
end

-- Notes a due job leaving `queue`'s wait set (see `tenant_wait`).
local function tenant_unwait(queue, tenant, m)
    if tenant and tenant ~= '' then
        local key = twait_key(queue, tenant)
        redis.call('ZREM', key, m)
        if redis.call('EXISTS', key) == 0 then
            redis.call('ZREM', P .. ':tenants:' .. queue, tenant)
        end
    else
        count_untenanted(queue, -1)
    end
end

-- Puts a waiting job where claims find it: in its queue's wait set (and
-- its tenant's) when due, else in the schedule, from which claims promote
-- it once due.
local function place(id, queue, priority, run_at, now, attempt, uscope, kind, tenant)
    if tonumber(run_at) <= tonumber(now) then
        local m = member(run_at, id, attempt, uscope, kind)
        redis.call('ZADD', P .. ':wait:' .. queue, priority, m)
        tenant_wait(queue, tenant, priority, m)
    else
        redis.call('ZADD', P .. ':scheduled', run_at, id)
    end
end

local function unplace(id, queue, run_at, attempt, uscope, kind, tenant)
    local m = member(run_at, id, attempt, uscope, kind)
    if redis.call('ZREM', P .. ':wait:' .. queue, m) == 1 then
        tenant_unwait(queue, tenant, m)
    end
    redis.call('ZREM', P .. ':scheduled', id)
end

-- The value of a job's entry in <P>:claims: the attempt (possibly
-- zero-padded), the start time, whether its end releases a unique key, then
-- `tagged_kind` (the kind prefixed by its length and ':') and the worker.
local function claim_record(attempt, started_at, rel, tagged_kind, worker)
    return attempt .. ' ' .. started_at .. ' ' .. rel .. ' ' .. tagged_kind .. worker
end

-- `number[s]` is `tonumber(s)`, parsed once per script call: tonumber runs
-- strtod, which costs as much as a dozen table lookups, and the strings a
-- script converts per job (attempts, lengths) repeat from job to job.
local number = setmetatable({}, {
    __index = function(cache, s)
        local n = tonumber(s)
        cache[s] = n
        return n
    end,
})

-- attempt (number), started_at, releases ('0'/'1'), kind, worker of a claim
-- record, or nil for none. The match captures the position of the kind
-- rather than the rest of the record: each string a script makes is
-- hashed and copied.
local function parse_claim(record)
    if not record then
        return nil
    end
    local attempt, started, rel, len, at = string.match(record, '^(%d+) (%d+) (%d) (%d+):()')
    len = number[len]
    return number[attempt], started, rel, string.sub(record, at, at + len - 1), string.sub(record, at + len)
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
local function with_error(id, errors, err)
    if not errors or errors == '[]' then
        -- Its first error: the job joins the jobs a search of errors reads.
        redis.call('ZADD', P .. ':erred', id, id)
        return '[' .. err .. ']'
    end
    return string.sub(errors, 1, -2) .. ',' .. err .. ']'
end

-- `redis.call(command, key, items...)` in slices, as Lua limits how many
-- values one call can unpack. Slices are even, so pairs stay whole.
local function call_in_slices(command, key, items)
    for first = 1, #items, 1000 do
        redis.call(command, key, unpack(items, first, math.min(first + 999, #items)))
    end
end

-- `HMGET key fields...` in slices (see above), as one list.
local function hmget_in_slices(key, fields)
    local values = {}
    for first = 1, #fields, 1000 do
        local part = redis.call('HMGET', key, unpack(fields, first, math.min(first + 999, #fields)))
        for j = 1, #part do
            values[first + j - 1] = part[j]
        end
    end
    return values
end

-- Ends the claims of `ids` (running jobs whose hashes the caller has
-- written); `per_kind` counts them by kind, `per_tenant` by tenant (those
-- whose claim counted them, see `claim_flags`).
local function end_claims(ids, per_kind, per_tenant)
    if #ids == 0 then
        return
    end
    call_in_slices('HDEL', P .. ':claims', ids)
    call_in_slices('ZREM', P .. ':running', ids)
    -- Cancel requests are rare: most claims end without one to clear.
    if redis.call('EXISTS', P .. ':cancel') == 1 then
        call_in_slices('SREM', P .. ':cancel', ids)
    end
    for kind, n in pairs(per_kind) do
        if tonumber(redis.call('HINCRBY', P .. ':running_kind', kind, -n)) <= 0 then
            redis.call('HDEL', P .. ':running_kind', kind)
        end
    end
    for tenant, n in pairs(per_tenant) do
        if tonumber(redis.call('HINCRBY', P .. ':running_tenant', tenant, -n)) <= 0 then
            redis.call('HDEL', P .. ':running_tenant', tenant)
        end
    end
end

local function wake()
    redis.call('PUBLISH', P .. ':wake', ORIGIN)
end

-- Every job is listed, by what a listing filters on, in sorted sets of ids
-- scored by id, so that a filter that matches few jobs, or none, reads
-- those few instead of every job: <P>:kind_jobs:<kind>,
-- <P>:queue_jobs:<queue>, <P>:tenant_jobs:<tenant>, <P>:key_jobs:<unique
-- key> (the jobs that asked for it; <P>:unique:<key> is the one holding
-- it) and <P>:erred (jobs with an attempt error). An insert gathers its
-- entries per set (`index_job`) and writes each set once (`apply_index`).
local function index_add(index, key, id)
    local list = index[key]
    if not list then
        list = {}
        index[key] = list
    end
    list[#list + 1] = id
    list[#list + 1] = id
end

local function index_job(index, id, kind, queue, tenant, ukey)
    index_add(index, P .. ':kind_jobs:' .. kind, id)
    index_add(index, P .. ':queue_jobs:' .. queue, id)
    if tenant and tenant ~= '' then
        index_add(index, P .. ':tenant_jobs:' .. tenant, id)
    end
    if ukey and ukey ~= '' then
        index_add(index, P .. ':key_jobs:' .. ukey, id)
    end
end

-- Takes a deleted job out of the sets of `index_job` (and of <P>:erred).
local function unindex_job(id, kind, queue, tenant, ukey)
    redis.call('ZREM', P .. ':kind_jobs:' .. kind, id)
    redis.call('ZREM', P .. ':queue_jobs:' .. queue, id)
    if tenant and tenant ~= '' then
        redis.call('ZREM', P .. ':tenant_jobs:' .. tenant, id)
    end
    if ukey and ukey ~= '' then
        redis.call('ZREM', P .. ':key_jobs:' .. ukey, id)
    end
    redis.call('ZREM', P .. ':erred', id)
end

-- Finished jobs are counted in <P>:finished, field '<queue> <state>
-- <tenant>' (the tenant '' for none; names hold no space), so that stats
-- read a few fields instead of every job. A script gathers its moves in a
-- table (`count_finished`) and writes them once (`apply_counts`). Failed
-- and cancelled jobs are also in <P>:ended:<state> (ids, scored by id), so
-- that a listing of them reads no completed job.
local function count_finished(counts, id, queue, tenant, state, n)
    local field = queue .. ' ' .. state .. ' ' .. (tenant or '')
    counts[field] = (counts[field] or 0) + n
    if state ~= 'completed' then
        if n > 0 then
            redis.call('ZADD', P .. ':ended:' .. state, id, id)
        else
            redis.call('ZREM', P .. ':ended:' .. state, id)
        end
    end
end

local function apply_counts(counts)
    for field, n in pairs(counts) do
        if n ~= 0 and tonumber(redis.call('HINCRBY', P .. ':finished', field, n)) <= 0 then
            redis.call('HDEL', P .. ':finished', field)
        end
    end
end

-- The flags digit of a claim record: 1 when the job's end releases a unique
-- key, plus 2 when the job belongs to a batch (its end moves the batch's
-- counts), plus 4 when it has a tenant (its claim counted it in
-- <P>:running_tenant; its end takes it off).
-- Flags are handled as the digit's byte: making a string of a number
-- costs a claim per job.
local function claim_flags(rel, batch, tenant)
    if not batch and not tenant then
        return rel
    end
    return string.char(string.byte(rel) + (batch and 2 or 0) + (tenant and 4 or 0))
end

local function flag_bits(flags)
    return string.byte(flags) - 48
end

local function flag_releases(flags)
    return flag_bits(flags) % 2 == 1
end

local function flag_batch(flags)
    return math.floor(flag_bits(flags) / 2) % 2 == 1
end

local function flag_tenant(flags)
    return flag_bits(flags) >= 4
end

-- Batches. A batch's hash holds tenant, the counts total, waiting, running,
-- completed, failed, cancelled, sealed (0/1), created_at, changed_at,
-- cancelled_at and finished_at (absent until then), continuations (JSON [{on, kind}],
-- for reading) and cont (JSON: per continuation `on` then the fields of
-- `enqueue_jobs`, all strings, run_at and spec's created_at filled in when
-- the batch finishes). Every script that changes a batch job's state
-- gathers the moves in a table (`batch_moved`) and applies them once per
-- batch (`batch_apply`), in the same script: counts never lag a job.
local function bkey(id)
    return P .. ':batch:' .. id
end

-- The count field of a stored job state.
local BUCKET = {
    available = 'waiting',
    running = 'running',
    completed = 'completed',
    failed = 'failed',
    cancelled = 'cancelled',
}

-- Notes that a job of `batch` (nil: none) left bucket `from` for bucket
-- `to` (either nil: none; 'total' for a job joining or leaving).
local function batch_moved(moves, batch, from, to)
    if not batch or batch == '' then
        return
    end
    local m = moves[batch]
    if not m then
        m = {}
        moves[batch] = m
    end
    if from then
        m[from] = (m[from] or 0) - 1
    end
    if to then
        m[to] = (m[to] or 0) + 1
    end
end

-- `spec` (JSON whose first field is created_at, see rows.rs) created at `now`.
local function spec_created(spec, now)
    local rest = string.match(spec, '^{"created_at":%-?%d+(.*)$')
    return '{"created_at":' .. now .. rest
end

local enqueue_jobs

-- Finishes batch `batch` if it is sealed and none of its jobs waits or
-- runs: marks it finished at `now` and enqueues the continuations its
-- counts call for, in this script (exactly once: a finished batch never
-- finishes again).
local function batch_finish(batch, now)
    local bk = bkey(batch)
    local sealed, waiting, running, finished, failed, cancelled, cont = unpack(redis.call('HMGET', bk,
        'sealed', 'waiting', 'running', 'finished_at', 'failed', 'cancelled', 'cont'))
    if sealed ~= '1' or finished or tonumber(waiting) ~= 0 or tonumber(running) ~= 0 then
        return
    end
    redis.call('HSET', bk, 'finished_at', now, 'changed_at', now)
    redis.call('ZADD', P .. ':batches_finished', now, batch)
    redis.call('ZADD', P .. ':batches_hook_pending', now, batch)
    local failures = tonumber(failed) + tonumber(cancelled)
    local chosen = {}
    for _, c in ipairs(cjson.decode(cont or '[]')) do
        local on = c[1]
        if on == 'complete' or (on == 'success' and failures == 0) or (on == 'failure' and failures > 0) then
            chosen[#chosen + 1] = c
        end
    end
    if #chosen > 0 then
        enqueue_jobs(now, #chosen, function(i, field)
            if field == 6 then
                return now
            elseif field == 10 then
                return spec_created(chosen[i][11], now)
            end
            return chosen[i][field + 1]
        end)
        -- The calling store wakes its own workers only for what it enqueued
        -- itself, and drops its own wake-ups: these continuations came from
        -- a finalize, rescue or cancel, so every listener hears this one,
        -- the caller's included.
        redis.call('PUBLISH', P .. ':wake', '*')
    end
end

-- Applies the moves gathered by `batch_moved`, then finishes the batches
-- that may have finished (when `now` is given). With `unfinished_only`,
-- finished batches keep their counts (their jobs are pruned or deleted).
local function batch_apply(moves, now, unfinished_only)
    for batch, m in pairs(moves) do
        local bk = bkey(batch)
        local exists, finished = unpack(redis.call('HMGET', bk, 'created_at', 'finished_at'))
        if exists and not (unfinished_only and finished) then
            for field, d in pairs(m) do
                if d ~= 0 then
                    redis.call('HINCRBY', bk, field, d)
                end
            end
            if now and not finished then
                redis.call('HSET', bk, 'changed_at', now)
                batch_finish(batch, now)
            end
        end
    end
end

-- The fields of one job in a script's arguments (see `enqueue_jobs`).
local JOB_FIELDS = 11

-- Inserts `n` jobs at `now`; `arg(i, field)` is field `field` (1 to 11) of
-- job `i`: kind, queue, priority, tenant, max_attempts, run_at, unique_key,
-- unique_scope, unique_until, spec, batch ('' is null). `spec` is the JSON of what
-- never changes (input, meta, creation time, batch, cron entry, and again
-- kind, queue, priority, tenant and unique key, which scripts read as fields
-- of their own). Returns id, duplicate (0/1) per job. A duplicate is the job
-- holding the unique key (possibly an earlier job of the same call); a
-- `period` key whose time is over is released first. A job naming a batch
-- that has finished or does not exist fails the call before any write.
enqueue_jobs = function(now, n, arg)

    -- A job joins only an unfinished, uncancelled batch: once continuations
    -- are enqueued no job may join what they report on.
    local open = {}
    for i = 1, n do
        local batch = arg(i, 11)
        if batch and batch ~= '' and not open[batch] then
            local created, finished, cancelled = unpack(redis.call('HMGET', bkey(batch), 'created_at',
                'finished_at', 'cancelled_at'))
            if not created or finished or cancelled then
                return redis.error_reply('errand: a job names a batch that has finished or does not exist')
            end
            open[batch] = true
        end
    end

    -- First pass: which jobs are new, and which duplicate a held key.
    local holders = {}
    local fresh = 0
    local in_call = {}
    for i = 1, n do
        local ukey = arg(i, 7)
        if ukey ~= '' then
            if in_call[ukey] then
                holders[i] = in_call[ukey]
            else
                local slot = P .. ':unique:' .. ukey
                local holder = redis.call('GET', slot)
                if holder then
                    local held_until = redis.call('HGET', jkey(holder), 'unique_until')
                    if held_until and tonumber(held_until) <= tonumber(now) then
                        redis.call('DEL', slot)
                        holder = false
                    end
                end
                if holder then
                    holders[i] = holder
                else
                    in_call[ukey] = -i
                end
            end
        end
        if not holders[i] then
            fresh = fresh + 1
        end
    end

    -- Second pass: ids in input order, one hash per job; index entries are
    -- gathered and written once per key.
    local next_id = 0
    if fresh > 0 then
        next_id = redis.call('INCRBY', P .. ':seq', fresh) - fresh
    end
    local ids = {}
    local moves = {}
    local all, scheduled, waiting, queues = {}, {}, {}, {}
    local untenanted = {}
    local index = {}
    local due = false
    local out = {}
    for i = 1, n do
        local holder = holders[i]
        if holder and tonumber(holder) < 0 then
            holder = ids[-tonumber(holder)]
        end
        if holder then
            out[#out + 1] = holder
            out[#out + 1] = 1
        else
            next_id = next_id + 1
            local id = next_id
            ids[i] = id
            local queue, priority, run_at, ukey = arg(i, 2), arg(i, 3), arg(i, 6), arg(i, 7)
            local fields = {
                'spec', arg(i, 10), 'kind', arg(i, 1), 'queue', queue, 'priority', priority, 'errors', '[]',
                'state', 'available', 'attempt', 0, 'max_attempts', arg(i, 5), 'run_at', run_at,
            }
            local optional = { 'tenant', 4, 'unique_key', 7, 'unique_scope', 8, 'unique_until', 9, 'batch', 11 }
            for o = 1, #optional, 2 do
                local value = arg(i, optional[o + 1])
                if value ~= '' then
                    fields[#fields + 1] = optional[o]
                    fields[#fields + 1] = value
                end
            end
            redis.call('HSET', jkey(id), unpack(fields))
            local batch = arg(i, 11)
            if batch and batch ~= '' then
                batch_moved(moves, batch, nil, 'total')
                batch_moved(moves, batch, nil, 'waiting')
                redis.call('SADD', P .. ':batch_jobs:' .. batch, id)
            end
            if ukey ~= '' then
                redis.call('SET', P .. ':unique:' .. ukey, id)
            end
            index_job(index, id, arg(i, 1), queue, arg(i, 4), ukey)
            all[#all + 1] = id
            all[#all + 1] = id
            if tonumber(run_at) <= tonumber(now) then
                local list = waiting[queue]
                if not list then
                    list = {}
                    waiting[queue] = list
                    queues[#queues + 1] = queue
                end
                local m = member(run_at, id, 0, arg(i, 8), arg(i, 1))
                list[#list + 1] = priority
                list[#list + 1] = m
                tenant_wait(queue, arg(i, 4), priority, m, true)
                if arg(i, 4) == '' then
                    untenanted[queue] = (untenanted[queue] or 0) + 1
                end
                due = true
            else
                if not waiting[queue] then
                    waiting[queue] = {}
                    queues[#queues + 1] = queue
                end
                scheduled[#scheduled + 1] = run_at
                scheduled[#scheduled + 1] = id
            end
            out[#out + 1] = id
            out[#out + 1] = 0
        end
    end
    if #all > 0 then
        call_in_slices('ZADD', P .. ':jobs', all)
        call_in_slices('SADD', P .. ':queues', queues)
    end
    for key, list in pairs(index) do
        call_in_slices('ZADD', key, list)
    end
    for queue, list in pairs(waiting) do
        if #list > 0 then
            call_in_slices('ZADD', P .. ':wait:' .. queue, list)
        end
    end
    if #scheduled > 0 then
        call_in_slices('ZADD', P .. ':scheduled', scheduled)
    end
    for queue, n in pairs(untenanted) do
        count_untenanted(queue, n)
    end
    if due then
        wake()
    end
    batch_apply(moves, nil, false)
    return out
end

-- Seals batch `batch` at `now`: it finishes once none of its jobs waits or
-- runs, which may be at once.
local function batch_seal(batch, now)
    redis.call('HSET', bkey(batch), 'sealed', 1, 'changed_at', now)
    batch_finish(batch, now)
end

-- Rescues the running jobs `ids`, whose claim records are `records`: each
-- has used its attempt and records the error `message(worker)` at `at`
-- (RFC 3339); it waits again at `now`, or fails for good without attempts
-- left.
local function rescue_claims(ids, records, now, at, message)
    local woke = false
    local per_kind = {}
    local per_tenant = {}
    local moves = {}
    local counts = {}
    for i, id in ipairs(ids) do
        local jk = jkey(id)
        local attempt, started_at, flags, kind, worker = parse_claim(records[i])
        local queue, priority, max_attempts, errors, ukey, uscope, batch, tenant = unpack(redis.call('HMGET', jk,
            'queue', 'priority', 'max_attempts', 'errors', 'unique_key', 'unique_scope', 'batch', 'tenant'))
        per_kind[kind] = (per_kind[kind] or 0) + 1
        if tenant and flag_tenant(flags) then
            per_tenant[tenant] = (per_tenant[tenant] or 0) + 1
        end
        errors = with_error(id, errors, cjson.encode({
            attempt = attempt,
            at = at,
            message = message(worker),
            kind = 'lease_expired',
        }))
        if attempt >= tonumber(max_attempts) then
            redis.call('HSET', jk, 'state', 'failed', 'finished_at', now, 'run_at', now, 'errors', errors,
                'attempt', attempt, 'worker', worker, 'started_at', started_at)
            release_unique(id, ukey, uscope)
            batch_moved(moves, batch, 'running', 'failed')
            count_finished(counts, id, queue, tenant, 'failed', 1)
        else
            redis.call('HSET', jk, 'state', 'available', 'run_at', now, 'errors', errors, 'attempt', attempt,
                'worker', worker, 'started_at', started_at)
            place(id, queue, priority, now, now, attempt, uscope, kind, tenant)
            batch_moved(moves, batch, 'running', 'waiting')
            woke = true
        end
    end
    end_claims(ids, per_kind, per_tenant)
    batch_apply(moves, now, false)
    apply_counts(counts)
    if woke then
        wake()
    end
end

-- Cron entries. An entry's key `ekey` is its tenant ('' for none), a space
-- and its name (neither holds a space, and a space sorts before every
-- character they may hold, so ekeys sort by tenant, then name). Keys:
-- <P>:cron:<ekey> (hash of the entry; times in unix microseconds),
-- <P>:cron_entries (every ekey, score 0, listed by lex order),
-- <P>:cron_due (ekeys by next fire time), <P>:cron_buffered (ekeys with a
-- buffered fire), <P>:cron_ledger:<ekey> (its newest 100 records, newest
-- first, JSON) and <P>:cron_fired:<ekey> (its newest decided fire times,
-- the guard that decides a fire time once). Ledgers outlive their entry.
local function ckey(ekey)
    return P .. ':cron:' .. ekey
end

-- Keeps the entry's place in <P>:cron_due in step with its next fire time.
local function cron_schedule(ekey, next_fire_at)
    if next_fire_at and next_fire_at ~= '' then
        redis.call('ZADD', P .. ':cron_due', next_fire_at, ekey)
    else
        redis.call('ZREM', P .. ':cron_due', ekey)
    end
end
