-- A listing (filters as in filters.sql) of running jobs only: the state written as a
-- literal and the running jobs gathered first (MATERIALIZED), so that the
-- index of running jobs (their lease) finds them; otherwise the planner
-- walks the primary key for the order, over every job when few run.
-- $5 is 'running'.
WITH running AS MATERIALIZED (
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM {schema}.jobs
WHERE ($1::text IS NULL OR kind = $1)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text IS NULL OR tenant = $3)
  AND ($4::bigint IS NULL OR batch_id = $4)
  AND state = 'running' AND ($5::text IS NULL OR $5 = 'running')
  AND ($6::text IS NULL OR unique_key = $6)
  AND id < $7
  AND ($10::text IS NULL OR EXISTS (
         SELECT 1 FROM jsonb_array_elements(errors) AS e
         WHERE strpos(lower((e->>'message') COLLATE "C"), lower($10 COLLATE "C")) > 0))
)
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM running
ORDER BY id DESC
LIMIT $8
