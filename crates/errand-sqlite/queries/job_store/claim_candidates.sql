-- ?1 queue, ?2 now, ?3 JSON array of kinds that may still be claimed, ?4 limit,
-- ?5 JSON array of tenants whose jobs are passed over (paused, or at their
-- limit).
SELECT id, kind, tenant FROM errand_jobs
WHERE state = 'available' AND queue = ?1 AND run_at <= ?2
  AND kind IN (SELECT value FROM json_each(?3))
  AND (tenant IS NULL OR tenant NOT IN (SELECT value FROM json_each(?5)))
ORDER BY priority, run_at, id
LIMIT ?4
