-- $1 ids; $2 now.
UPDATE {schema}.jobs
SET state = 'cancelled', finished_at = $2,
    unique_slot = CASE WHEN unique_scope = 'active' THEN NULL ELSE unique_slot END
WHERE id = ANY($1) AND state = 'available'
RETURNING id
