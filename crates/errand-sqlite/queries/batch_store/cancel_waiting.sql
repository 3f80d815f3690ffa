-- ?1 batch id; ?2 now. Its waiting jobs are cancelled; the batch's triggers
-- count them and finish the batch when nothing of it runs.
UPDATE errand_jobs
SET state = 'cancelled', finished_at = ?2,
    unique_slot = CASE WHEN unique_scope = 'active' THEN NULL ELSE unique_slot END
WHERE batch_id = ?1 AND state = 'available'
RETURNING queue, tenant
