-- $1 queue, $2 now, $3 kinds that may still be claimed, $4 limit, $5 tenants
-- whose jobs are passed over (paused, or at their limit).
-- One priority at a time, each from its first waiting job, as in
-- claim_queue.sql, so that jobs scheduled for later are never walked; the
-- queue is matched by its hash first, the due index's key.
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
)
SELECT due.id, due.kind, due.tenant FROM heads AS h
CROSS JOIN LATERAL (
    SELECT id, kind, tenant FROM {schema}.jobs
    WHERE state = 'available' AND hashtext(queue) = hashtext($1) AND queue = $1 AND priority = h.priority
      AND (run_at, id) >= (h.run_at, h.id) AND run_at <= $2 AND kind = ANY($3)
      AND (tenant IS NULL OR tenant <> ALL($5))
    ORDER BY run_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
) AS due
LIMIT $4
