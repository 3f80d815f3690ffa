-- ?1 queue, ?2 now, ?3 JSON array of kinds that may still be claimed, ?4 limit.
SELECT id, kind FROM errand_jobs
WHERE state = 'available' AND queue = ?1 AND run_at <= ?2
  AND kind IN (SELECT value FROM json_each(?3))
ORDER BY priority, run_at, id
LIMIT ?4
