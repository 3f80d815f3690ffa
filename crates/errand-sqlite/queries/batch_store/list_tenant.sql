-- ?1 tenant; ?2 only ids below this one (the largest id for the first
-- page); ?3 most rows. Walks the (tenant, id) index down from ?2.
SELECT id, tenant, total, waiting, running, completed, failed, cancelled, sealed,
       continuations, created_at, cancelled_at, finished_at
FROM errand_batches WHERE tenant = ?1 AND id < ?2
ORDER BY id DESC
LIMIT ?3
