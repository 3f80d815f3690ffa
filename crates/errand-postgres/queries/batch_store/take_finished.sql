-- $1 most to take. Finished batches no one has taken yet, oldest end first,
-- from the pending index; the update that takes them clears the mark, so
-- each is taken once. A batch another transaction holds is skipped, not
-- waited for: the next take gets it.
UPDATE {schema}.batches SET hook_pending = false
WHERE id IN (SELECT id FROM {schema}.batches WHERE hook_pending
             ORDER BY finished_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, tenant, total, waiting, running, completed, failed, cancelled, sealed,
          continuations, created_at, cancelled_at, finished_at
