-- The claim of one queue when no limit applies: one statement; SKIP LOCKED
-- lets concurrent claimers take different jobs instead of waiting.
-- $1 queue, $2 worker, $3 now, $4 lease end, $5 kinds, $6 limit.
-- The picked rows are updated by their ctid, and the queue is matched by
-- its hash first, the due index's key (see claim_queue_busy.sql).
--
-- Due jobs are read one priority at a time, so that `run_at <= now` bounds
-- each index range: jobs scheduled for later, however many, are never walked.
-- `heads` finds each priority's first waiting job (a skip scan of the
-- index), and each priority's range starts at that job: entries of finished
-- jobs that vacuum has not yet removed sit at the start of the range and are
-- walked once, not once per step.
WITH RECURSIVE heads AS (
    (SELECT priority, run_at, id FROM {schema}.jobs
     WHERE state = 'available' AND hashtext(queue) = hashtext($1) AND queue = $1
     ORDER BY priority, run_at, id LIMIT 1)
    UNION ALL
    SELECT later.priority, later.run_at, later.id FROM heads AS h
    CROSS JOIN LATERAL (
        SELECT j.priority, j.run_at, j.id FROM {schema}.jobs AS j
        WHERE j.state = 'available' AND hashtext(j.queue) = hashtext($1) AND j.queue = $1 AND j.priority > h.priority
        ORDER BY j.priority, j.run_at, j.id LIMIT 1
    ) AS later
),
picked AS (
    SELECT due.ctid FROM heads AS h
    CROSS JOIN LATERAL (
        SELECT ctid FROM {schema}.jobs
        WHERE state = 'available' AND hashtext(queue) = hashtext($1) AND queue = $1 AND priority = h.priority
          AND (run_at, id) >= (h.run_at, h.id) AND run_at <= $3 AND kind = ANY($5)
        ORDER BY run_at, id
        LIMIT $6
        FOR UPDATE SKIP LOCKED
    ) AS due
    LIMIT $6
)
UPDATE {schema}.jobs AS j
SET state = 'running', attempt = j.attempt + 1, worker = $2, started_at = $3,
    lease_until = $4, cancel_requested = false
FROM picked
WHERE j.ctid = picked.ctid
RETURNING j.id, j.kind, j.queue, j.priority, j.tenant, j.input, j.output, j.errors, j.state,
          j.attempt, j.max_attempts, j.run_at, j.created_at, j.started_at, j.finished_at,
          j.lease_until, j.worker, j.unique_key, j.batch_id, j.cron_name, j.cron_fire_at,
          j.meta, j.cancel_requested
