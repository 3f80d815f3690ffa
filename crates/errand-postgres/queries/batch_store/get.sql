-- $1 batch id.
SELECT id, tenant, total, waiting, running, completed, failed, cancelled, sealed,
       continuations, created_at, cancelled_at, finished_at
FROM {schema}.batches WHERE id = $1
