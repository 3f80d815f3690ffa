-- The listing of list.sql for waiting jobs only (?5 is 'scheduled',
-- 'available' or 'retrying'): read through the index of waiting jobs
-- (named: the planner would rather walk the primary key for the order,
-- over every job when few wait), then sorted.
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM errand_jobs INDEXED BY errand_jobs_due
WHERE (?1 IS NULL OR kind = ?1)
  AND (?2 IS NULL OR queue = ?2)
  AND (?3 IS NULL OR tenant = ?3)
  AND (?4 IS NULL OR batch_id = ?4)
  AND state = 'available'
  AND ?5 = CASE WHEN run_at <= ?9 THEN 'available'
                WHEN attempt = 0 THEN 'scheduled'
                ELSE 'retrying' END
  AND (?6 IS NULL OR unique_key = ?6)
  AND id < ?7
  AND (?10 IS NULL OR EXISTS (
         SELECT 1 FROM json_each(errors)
         WHERE instr(lower(json_extract(value, '$.message')), lower(?10)) > 0))
ORDER BY id DESC
LIMIT ?8
