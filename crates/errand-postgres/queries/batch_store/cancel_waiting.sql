-- $1 batch id; $2 now. Its waiting jobs are cancelled; the batch trigger
-- counts them and finishes the batch when nothing of it runs.
UPDATE {schema}.jobs
SET state = 'cancelled', finished_at = $2,
    unique_slot = CASE WHEN unique_scope = 'active' THEN NULL ELSE unique_slot END
WHERE batch_id = $1 AND state = 'available'
