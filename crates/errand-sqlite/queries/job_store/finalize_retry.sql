-- ?1 JSON array of {id, attempt, run_at, error}; ?2 worker.
UPDATE errand_jobs
SET state = 'available', run_at = c.value ->> 'run_at', lease_until = NULL,
    errors = json_insert(errors, '$[#]', json(c.value -> 'error'))
FROM json_each(?1) AS c
-- The unary + keeps the planner on row-id lookups from the JSON list
-- instead of walking every running job.
WHERE errand_jobs.id = c.value ->> 'id' AND +errand_jobs.state = 'running'
  AND errand_jobs.attempt = c.value ->> 'attempt' AND errand_jobs.worker = ?2
RETURNING errand_jobs.id, errand_jobs.batch_id, errand_jobs.queue, errand_jobs.tenant
