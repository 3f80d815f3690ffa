-- $1 now. The expired attempt counts: it records "lease expired" and the job
-- waits again, or fails for good when it has no attempts left.
UPDATE {schema}.jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
    run_at = $1,
    finished_at = CASE WHEN attempt >= max_attempts THEN $1 END,
    lease_until = NULL,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt,
        'at', to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'message', 'lease expired (worker ' || coalesce(worker, '?') || ' stopped renewing it)',
        'kind', 'lease_expired')),
    unique_slot = CASE WHEN attempt >= max_attempts AND unique_scope = 'active'
                       THEN NULL ELSE unique_slot END
WHERE state = 'running' AND lease_until < $1
RETURNING id
