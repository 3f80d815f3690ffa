-- $1 id; $2 run_at or null; $3 priority or null; $4 queue or null. A waiting
-- job (checked and locked first, in the same transaction) gets what is given.
UPDATE {schema}.jobs
SET run_at = coalesce($2, run_at), priority = coalesce($3, priority), queue = coalesce($4, queue)
WHERE id = $1 AND state = 'available'
