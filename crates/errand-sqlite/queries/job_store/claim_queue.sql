-- The claim of one queue when no limit applies: one statement, so it is
-- atomic without an explicit transaction.
-- ?1 queue, ?2 worker, ?3 now, ?4 lease end, ?5 JSON array of kinds, ?6 limit.
UPDATE errand_jobs
SET state = 'running', attempt = attempt + 1, worker = ?2, started_at = ?3,
    lease_until = ?4, cancel_requested = 0
WHERE id IN (
        SELECT id FROM errand_jobs
        WHERE state = 'available' AND queue = ?1 AND run_at <= ?3
          AND kind IN (SELECT value FROM json_each(?5))
        ORDER BY priority, run_at, id
        LIMIT ?6)
  AND +state = 'available'
RETURNING id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
          run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
          batch_id, cron_name, cron_fire_at, meta, cancel_requested
