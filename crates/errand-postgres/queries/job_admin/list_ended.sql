-- The listing of list.sql for failed or cancelled jobs only ($5 is
-- 'failed' or 'cancelled'): the state also written as the literal list of
-- their index by state and id (migration 19), which holds no completed
-- job, so that the walk down that index gives the order.
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
FROM {schema}.jobs
WHERE ($1::text IS NULL OR kind = $1)
  AND ($2::text IS NULL OR queue = $2)
  AND ($3::text IS NULL OR tenant = $3)
  AND ($4::bigint IS NULL OR batch_id = $4)
  AND state IN ('failed', 'cancelled') AND state = $5
  AND ($6::text IS NULL OR unique_key = $6)
  AND id < $7
  AND ($10::text IS NULL OR EXISTS (
         SELECT 1 FROM jsonb_array_elements(errors) AS e
         WHERE strpos(lower((e->>'message') COLLATE "C"), lower($10 COLLATE "C")) > 0))
ORDER BY id DESC
LIMIT $8
