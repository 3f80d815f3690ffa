-- $1 state; $2 finished before; $3 most to delete. The oldest finished
-- first, read from the finished-jobs index (its own predicate repeated, so
-- that a generic plan may use it): what a call deletes is gone, so the
-- next call needs no cursor, and a store with nothing old enough answers
-- after one index probe.
DELETE FROM {schema}.jobs
WHERE id IN (SELECT id FROM {schema}.jobs
             WHERE state IN ('completed', 'failed', 'cancelled')
               AND state = $1 AND finished_at < $2
             ORDER BY finished_at LIMIT $3)
RETURNING id
