-- $1 queue, $2 now, $3 kinds that may still be claimed, $4 limit.
SELECT id, kind FROM {schema}.jobs
WHERE state = 'available' AND queue = $1 AND run_at <= $2 AND kind = ANY($3)
ORDER BY priority, run_at, id
LIMIT $4
FOR UPDATE SKIP LOCKED
