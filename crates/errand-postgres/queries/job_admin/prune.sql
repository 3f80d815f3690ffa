-- $1 state; $2 finished before; $3 after this id; $4 most to delete.
DELETE FROM {schema}.jobs
WHERE id IN (SELECT id FROM {schema}.jobs
             WHERE state = $1 AND finished_at < $2 AND id > $3
             ORDER BY id LIMIT $4)
RETURNING id
