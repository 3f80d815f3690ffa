-- ?1 JSON array of {id, attempt, output}; ?2 worker; ?3 now.
-- Fencing: only a job still running with that attempt for that worker changes.
UPDATE errand_jobs
SET state = 'completed', output = c.value -> 'output', finished_at = ?3, lease_until = NULL,
    unique_slot = CASE WHEN unique_scope = 'active' THEN NULL ELSE unique_slot END
FROM json_each(?1) AS c
-- The unary + keeps the planner on row-id lookups from the JSON list
-- instead of walking every running job.
WHERE errand_jobs.id = c.value ->> 'id' AND +errand_jobs.state = 'running'
  AND errand_jobs.attempt = c.value ->> 'attempt' AND errand_jobs.worker = ?2
RETURNING errand_jobs.id, errand_jobs.batch_id, errand_jobs.queue, errand_jobs.tenant
