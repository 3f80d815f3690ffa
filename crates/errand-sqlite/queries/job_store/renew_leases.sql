-- ?1 JSON array of {id, attempt}; ?2 worker; ?3 new lease end.
UPDATE errand_jobs
SET lease_until = ?3
FROM json_each(?1) AS c
-- The unary + keeps the planner on row-id lookups from the JSON list
-- instead of walking every running job.
WHERE errand_jobs.id = c.value ->> 'id' AND +errand_jobs.state = 'running'
  AND errand_jobs.attempt = c.value ->> 'attempt' AND errand_jobs.worker = ?2
RETURNING errand_jobs.id, errand_jobs.attempt, errand_jobs.cancel_requested
