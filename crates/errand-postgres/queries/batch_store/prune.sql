-- $1 finished before; $2 most to delete. The oldest finished first, read
-- from the finished-batches index: what a call deletes is gone, so the next
-- call needs no cursor. Only the batch's record goes; its jobs follow their
-- own retention (a job that names a pruned batch is still read, retried and
-- deleted as any other). A batch being finished by another transaction is
-- skipped, not waited for.
DELETE FROM {schema}.batches
WHERE id IN (SELECT id FROM {schema}.batches WHERE finished_at < $1
             ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING id
