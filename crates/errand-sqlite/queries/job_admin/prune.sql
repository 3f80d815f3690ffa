-- ?1 state; ?2 finished before (micros); ?3 most to delete. The oldest
-- finished first, read from the finished-jobs index (its own predicate
-- repeated, so that the planner may use it): what a call deletes is gone,
-- so the next call needs no cursor, and a store with nothing old enough
-- answers after one index probe.
DELETE FROM errand_jobs
WHERE id IN (SELECT id FROM errand_jobs
             WHERE state IN ('completed', 'failed', 'cancelled')
               AND state = ?1 AND finished_at < ?2
               AND NOT EXISTS (SELECT 1 FROM errand_batches AS b
                               WHERE b.id = errand_jobs.batch_id AND b.finished_at IS NULL)
             ORDER BY finished_at LIMIT ?3)
RETURNING id, queue, tenant
