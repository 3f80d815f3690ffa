-- A listing (filters as in filters.sql) of one batch's jobs ($4): those
-- not running down the batch index by batch and id (which leaves running
-- jobs out, migration 15), the running ones, few, gathered first through
-- the index of running jobs; each part ordered and cut to the page, then
-- merged.
SELECT * FROM (
  (SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
          run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
          batch_id, cron_name, cron_fire_at, meta, cancel_requested
   FROM {schema}.jobs
   WHERE batch_id = $4 AND state <> 'running'
     AND ($1::text IS NULL OR kind = $1)
     AND ($2::text IS NULL OR queue = $2)
     AND ($3::text IS NULL OR tenant = $3)
     AND ($5::text IS NULL OR $5 = CASE
            WHEN state <> 'available' THEN state
            WHEN run_at <= $9 THEN 'available'
            WHEN attempt = 0 THEN 'scheduled'
            ELSE 'retrying' END)
     AND ($6::text IS NULL OR unique_key = $6)
     AND id < $7
     AND ($10::text IS NULL OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(errors) AS e
            WHERE strpos(lower((e->>'message') COLLATE "C"), lower($10 COLLATE "C")) > 0))
   ORDER BY id DESC
   LIMIT $8)
  UNION ALL
  (WITH running AS MATERIALIZED (
     SELECT * FROM {schema}.jobs WHERE state = 'running' AND batch_id = $4)
   SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
          run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
          batch_id, cron_name, cron_fire_at, meta, cancel_requested
   FROM running
   WHERE true
     AND ($1::text IS NULL OR kind = $1)
     AND ($2::text IS NULL OR queue = $2)
     AND ($3::text IS NULL OR tenant = $3)
     AND ($5::text IS NULL OR $5 = 'running')
     AND ($6::text IS NULL OR unique_key = $6)
     AND id < $7
     AND ($10::text IS NULL OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(errors) AS e
            WHERE strpos(lower((e->>'message') COLLATE "C"), lower($10 COLLATE "C")) > 0))
   ORDER BY id DESC
   LIMIT $8)
) AS page
ORDER BY id DESC
LIMIT $8
