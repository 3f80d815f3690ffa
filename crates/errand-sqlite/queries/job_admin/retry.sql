-- ?1 id; ?2 now. A finished job waits again with a fresh attempt budget:
-- as many attempts beyond those it had as it was enqueued with (kept in
-- attempt_budget by the first retry). Its errors stay.
UPDATE errand_jobs
SET state = 'available', run_at = ?2, finished_at = NULL, lease_until = NULL, output = NULL,
    cancel_requested = 0, attempt_budget = COALESCE(attempt_budget, max_attempts),
    max_attempts = attempt + COALESCE(attempt_budget, max_attempts),
    unique_slot = CASE WHEN unique_scope = 'active' THEN unique_key ELSE unique_slot END
WHERE id = ?1 AND state IN ('completed', 'failed', 'cancelled')
