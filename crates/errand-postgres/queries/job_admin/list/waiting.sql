-- A listing (filters as in filters.sql) of waiting jobs only ($5 is 'scheduled',
-- 'available' or 'retrying'): the waiting jobs gathered first
-- (MATERIALIZED) through the partial indexes that hold only them, then
-- sorted; otherwise the planner walks the primary key for the order, over
-- every job when few wait.
WITH waiting AS MATERIALIZED (
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM {schema}.jobs
WHERE ($1::text IS NULL OR kind = $1)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text IS NULL OR tenant = $3)
  AND ($4::bigint IS NULL OR batch_id = $4)
  AND state = 'available'
  AND $5 = CASE WHEN run_at <= $9 THEN 'available'
                WHEN attempt = 0 THEN 'scheduled'
                ELSE 'retrying' END
  AND ($6::text IS NULL OR unique_key = $6)
  AND id < $7
  AND ($10::text IS NULL OR EXISTS (
         SELECT 1 FROM jsonb_array_elements(errors) AS e
         WHERE strpos(lower((e->>'message') COLLATE "C"), lower($10 COLLATE "C")) > 0))
)
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM waiting
ORDER BY id DESC
LIMIT $8
