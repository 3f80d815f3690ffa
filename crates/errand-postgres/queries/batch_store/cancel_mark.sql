-- $1 batch id; $2 now. Marks an unfinished batch cancelled (it takes no more
-- jobs) and sealed (it finishes once its running jobs end); returns how
-- many of its jobs had finished.
UPDATE {schema}.batches
SET cancelled_at = coalesce(cancelled_at, $2), sealed = true, changed_at = $2
WHERE id = $1 AND finished_at IS NULL
RETURNING completed + failed + cancelled
