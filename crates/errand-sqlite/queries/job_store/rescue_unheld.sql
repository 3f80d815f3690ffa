-- ?1 worker; ?2 JSON array of the ids it holds; ?3 claimed before (micros);
-- ?4 now (micros); ?5 now (RFC 3339, for the error entry). The worker's
-- other running jobs claimed before ?3 are ones it never got or whose
-- result the store lost: they are rescued as expired leases are.
UPDATE errand_jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
    run_at = ?4,
    finished_at = CASE WHEN attempt >= max_attempts THEN ?4 ELSE NULL END,
    lease_until = NULL,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'at', ?5,
        'message', 'worker ' || ?1 || ' no longer runs this attempt: its claim or its result was lost between the worker and the store',
        'kind', 'lease_expired')),
    unique_slot = CASE WHEN attempt >= max_attempts AND unique_scope = 'active'
                       THEN NULL ELSE unique_slot END
WHERE state = 'running' AND worker = ?1 AND started_at < ?3
  AND id NOT IN (SELECT value FROM json_each(?2))
RETURNING id, state, queue, tenant
