-- The claim of one queue while it has more due jobs than a claim takes: one
-- statement that walks the due index from its head and stops at the limit.
-- (When fewer are due it would walk every job scheduled for later, so then
-- claim_queue.sql is used instead.)
-- $1 queue, $2 worker, $3 now, $4 lease end, $5 kinds, $6 limit.
WITH picked AS (
    SELECT id FROM {schema}.jobs
    WHERE state = 'available' AND queue = $1 AND run_at <= $3 AND kind = ANY($5)
    ORDER BY priority, run_at, id
    LIMIT $6
    FOR UPDATE SKIP LOCKED
)
UPDATE {schema}.jobs AS j
SET state = 'running', attempt = j.attempt + 1, worker = $2, started_at = $3,
    lease_until = $4, cancel_requested = false
FROM picked
WHERE j.id = picked.id
RETURNING j.id, j.kind, j.queue, j.priority, j.tenant, j.input, j.output, j.errors, j.state,
          j.attempt, j.max_attempts, j.run_at, j.created_at, j.started_at, j.finished_at,
          j.lease_until, j.worker, j.unique_key, j.batch_id, j.cron_name, j.cron_fire_at,
          j.meta, j.cancel_requested
