-- A listing (filters as in filters.sql) of one kind's jobs ($1): the
-- finished ones down their index by kind and id (migration 20),
-- the waiting and running ones, few beside them, gathered first through
-- the indexes that hold only them; each part ordered and cut to the page,
-- then merged (one ordered walk over both parts is planned as a sort of
-- every job of the kind).
SELECT * FROM (
  (SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
          run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
          batch_id, cron_name, cron_fire_at, meta, cancel_requested
   FROM {schema}.jobs
   WHERE kind = $1 AND state IN ('completed', 'failed', 'cancelled')
     AND ($2::text IS NULL OR queue = $2)
     AND ($3::text IS NULL OR tenant = $3)
     AND ($4::bigint IS NULL OR batch_id = $4)
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
  (WITH unfinished AS MATERIALIZED (
     SELECT * FROM {schema}.jobs WHERE kind = $1 AND state = 'available'
     UNION ALL
     SELECT * FROM {schema}.jobs WHERE kind = $1 AND state = 'running')
   SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
          run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
          batch_id, cron_name, cron_fire_at, meta, cancel_requested
   FROM unfinished
   WHERE true
     AND ($2::text IS NULL OR queue = $2)
     AND ($3::text IS NULL OR tenant = $3)
     AND ($4::bigint IS NULL OR batch_id = $4)
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
) AS page
ORDER BY id DESC
LIMIT $8
