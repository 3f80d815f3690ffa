-- $1 state; $2 finished before; $3 most to delete. The oldest finished
-- first, read from the finished-jobs index (its own predicate repeated, so
-- that a generic plan may use it): what a call deletes is gone, so the
-- next call needs no cursor, and a store with nothing old enough answers
-- after one index probe. Jobs of an unfinished batch stay: its counts and
-- its continuations' report are of all its jobs.
DELETE FROM {schema}.jobs
WHERE id IN (SELECT j.id FROM {schema}.jobs AS j
             WHERE j.state IN ('completed', 'failed', 'cancelled')
               AND j.state = $1 AND j.finished_at < $2
               AND NOT EXISTS (SELECT 1 FROM {schema}.batches AS b
                               WHERE b.id = j.batch_id AND b.finished_at IS NULL)
             ORDER BY j.finished_at LIMIT $3)
RETURNING id
