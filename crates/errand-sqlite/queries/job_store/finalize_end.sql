-- Fail or cancel for good. ?1 JSON array of {id, attempt, error}; ?2 worker;
-- ?3 now; ?4 the end state ('failed' or 'cancelled').
UPDATE errand_jobs
SET state = ?4, finished_at = ?3, lease_until = NULL,
    errors = json_insert(errors, '$[#]', json(c.value -> 'error')),
    unique_slot = CASE WHEN unique_scope = 'active' THEN NULL ELSE unique_slot END
FROM json_each(?1) AS c
-- The unary + keeps the planner on row-id lookups from the JSON list
-- instead of walking every running job.
WHERE errand_jobs.id = c.value ->> 'id' AND +errand_jobs.state = 'running'
  AND errand_jobs.attempt = c.value ->> 'attempt' AND errand_jobs.worker = ?2
RETURNING errand_jobs.id, errand_jobs.batch_id, errand_jobs.queue, errand_jobs.tenant
