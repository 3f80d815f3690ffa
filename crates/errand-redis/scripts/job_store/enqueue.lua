-- ARGV: prefix, origin, now, count, then JOB_FIELDS fields per job (see
-- `enqueue_jobs` in prelude.lua). Returns id, duplicate (0/1) per job.
local now = ARGV[3]
return enqueue_jobs(now, tonumber(ARGV[4]), function(i, field)
    return ARGV[4 + (i - 1) * JOB_FIELDS + field]
end)
