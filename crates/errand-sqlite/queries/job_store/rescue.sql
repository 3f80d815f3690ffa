-- ?1 now (micros); ?2 now (RFC 3339, for the error entry).
-- The expired attempt counts: it records "lease expired" and the job waits
-- again, or fails for good when it has no attempts left.
UPDATE errand_jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
    run_at = ?1,
    finished_at = CASE WHEN attempt >= max_attempts THEN ?1 ELSE NULL END,
    lease_until = NULL,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'at', ?2,
        'message', 'lease expired (worker ' || coalesce(worker, '?') || ' stopped renewing it)',
        'kind', 'lease_expired')),
    unique_slot = CASE WHEN attempt >= max_attempts AND unique_scope = 'active'
                       THEN NULL ELSE unique_slot END
WHERE state = 'running' AND lease_until < ?1
RETURNING id, state, queue, tenant
