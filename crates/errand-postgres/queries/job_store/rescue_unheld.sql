-- $1 worker; $2 ids it holds; $3 claimed before; $4 now. The worker's other
-- running jobs claimed before $3 are ones it never got or whose result the
-- store lost: they are rescued as expired leases are.
UPDATE {schema}.jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
    run_at = $4,
    finished_at = CASE WHEN attempt >= max_attempts THEN $4 END,
    lease_until = NULL,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt,
        'at', to_char($4 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'message', 'worker ' || $1 || ' no longer runs this attempt: its claim or its result was lost between the worker and the store',
        'kind', 'lease_expired')),
    unique_slot = CASE WHEN attempt >= max_attempts AND unique_scope = 'active'
                       THEN NULL ELSE unique_slot END
WHERE state = 'running' AND worker = $1 AND started_at < $3 AND id <> ALL($2)
RETURNING id
