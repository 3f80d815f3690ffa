-- ?1 JSON array of ids, ?2 worker, ?3 now, ?4 lease end.
UPDATE errand_jobs
SET state = 'running', attempt = attempt + 1, worker = ?2, started_at = ?3,
    lease_until = ?4, cancel_requested = 0
-- The unary + keeps the planner on row-id lookups (not a walk of the backlog).
WHERE id IN (SELECT value FROM json_each(?1)) AND +state = 'available'
RETURNING id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
