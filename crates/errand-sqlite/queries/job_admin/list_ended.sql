-- The listing of list.sql for failed or cancelled jobs only (?5 is
-- 'failed' or 'cancelled'): walked down their index by state and id
-- (migration 12), which holds no completed job. ?9 (now) is not used.
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM errand_jobs INDEXED BY errand_jobs_ended
WHERE (?1 IS NULL OR kind = ?1)
  AND (?2 IS NULL OR queue = ?2)
  AND (?3 IS NULL OR tenant = ?3)
  AND (?4 IS NULL OR batch_id = ?4)
  AND state IN ('failed', 'cancelled') AND state = ?5
  AND (?6 IS NULL OR unique_key = ?6)
  AND id < ?7
  AND (?10 IS NULL OR EXISTS (
         SELECT 1 FROM json_each(errors)
         WHERE instr(lower(json_extract(value, '$.message')), lower(?10)) > 0))
ORDER BY id DESC
LIMIT ?8
