-- ?1 JSON array of ids; ?2 now.
UPDATE errand_jobs
SET state = 'cancelled', finished_at = ?2,
    unique_slot = CASE WHEN unique_scope = 'active' THEN NULL ELSE unique_slot END
WHERE id IN (SELECT value FROM json_each(?1)) AND +state = 'available'
RETURNING id, queue, tenant
