-- $1 queue, $2 now, $3 kinds that may still be claimed, $4 limit.
-- One priority at a time, as in claim_queue.sql, so that jobs scheduled for
-- later are never walked.
WITH RECURSIVE priorities AS (
    (SELECT priority FROM {schema}.jobs
     WHERE state = 'available' AND queue = $1
     ORDER BY priority LIMIT 1)
    UNION ALL
    SELECT (SELECT j.priority FROM {schema}.jobs AS j
            WHERE j.state = 'available' AND j.queue = $1 AND j.priority > p.priority
            ORDER BY j.priority LIMIT 1)
    FROM priorities AS p
    WHERE p.priority IS NOT NULL
)
SELECT due.id, due.kind FROM priorities AS p
CROSS JOIN LATERAL (
    SELECT id, kind FROM {schema}.jobs
    WHERE state = 'available' AND queue = $1 AND priority = p.priority
      AND run_at <= $2 AND kind = ANY($3)
    ORDER BY run_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
) AS due
WHERE p.priority IS NOT NULL
LIMIT $4
