-- ?1 id; ?2 now. A finished job waits again with at least one attempt left.
UPDATE errand_jobs
SET state = 'available', run_at = ?2, finished_at = NULL, lease_until = NULL, output = NULL,
    cancel_requested = 0, max_attempts = MAX(max_attempts, attempt + 1),
    unique_slot = CASE WHEN unique_scope = 'active' THEN unique_key ELSE unique_slot END
WHERE id = ?1 AND state IN ('completed', 'failed', 'cancelled')
