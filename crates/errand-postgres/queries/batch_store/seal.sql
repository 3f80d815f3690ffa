-- $1 batch id; $2 now. Followed by finish.sql in the same transaction.
UPDATE {schema}.batches SET sealed = true, changed_at = $2
WHERE id = $1 AND NOT sealed AND finished_at IS NULL
