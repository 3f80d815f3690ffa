-- The claim of one queue when no limit applies: one statement; SKIP LOCKED
-- lets concurrent claimers take different jobs instead of waiting.
-- $1 queue, $2 worker, $3 now, $4 lease end, $5 kinds, $6 limit.
--
-- Due jobs are read one priority at a time (the priorities present are found
-- by a skip scan of the index), so that `run_at <= now` bounds each index
-- range: jobs scheduled for later, however many, are never walked.
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
),
picked AS (
    SELECT due.id FROM priorities AS p
    CROSS JOIN LATERAL (
        SELECT id FROM {schema}.jobs
        WHERE state = 'available' AND queue = $1 AND priority = p.priority
          AND run_at <= $3 AND kind = ANY($5)
        ORDER BY run_at, id
        LIMIT $6
        FOR UPDATE SKIP LOCKED
    ) AS due
    WHERE p.priority IS NOT NULL
    LIMIT $6
)
UPDATE {schema}.jobs AS j
SET state = 'running', attempt = j.attempt + 1, worker = $2, started_at = $3,
    lease_until = $4, cancel_requested = false
FROM picked
WHERE j.id = picked.id
RETURNING j.id, j.kind, j.queue, j.priority, j.tenant, j.input, j.output, j.errors, j.state,
          j.attempt, j.max_attempts, j.run_at, j.created_at, j.started_at, j.finished_at,
          j.lease_until, j.worker, j.unique_key, j.batch_id, j.cron_name, j.cron_fire_at,
          j.meta, j.cancel_requested
