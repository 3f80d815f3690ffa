-- $1 batch id: how many of its jobs have finished (NULL: no such batch).
SELECT completed + failed + cancelled FROM {schema}.batches WHERE id = $1
