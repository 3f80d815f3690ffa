-- ?1 batch id.
SELECT id, tenant, total, waiting, running, completed, failed, cancelled, sealed,
       continuations, created_at, cancelled_at, finished_at
FROM errand_batches WHERE id = ?1
