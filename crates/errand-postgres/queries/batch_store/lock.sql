-- $1 batch id. Locks the batch for the transaction (a finish waits for the
-- append, or the append sees the finish) and reads whether it takes jobs.
SELECT finished_at IS NOT NULL AS finished, cancelled_at IS NOT NULL AS cancelled FROM {schema}.batches WHERE id = $1 FOR UPDATE
