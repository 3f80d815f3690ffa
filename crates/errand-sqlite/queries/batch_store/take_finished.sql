-- ?1 most to take. Finished batches no one has taken yet, oldest end first,
-- from the pending index; the write that takes them clears the mark, so
-- each is taken once (SQLite runs one writer at a time).
UPDATE errand_batches SET hook_pending = 0
WHERE id IN (SELECT id FROM errand_batches WHERE hook_pending = 1
             ORDER BY finished_at, id LIMIT ?1)
RETURNING id, tenant, total, waiting, running, completed, failed, cancelled, sealed,
          continuations, created_at, cancelled_at, finished_at
