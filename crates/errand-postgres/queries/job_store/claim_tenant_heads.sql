-- $1 queue, $2 now, $3 kinds that may still be claimed, $4 limit, $5 tenants
-- passed over, $6 the tenant after which to start ('' for the first: names
-- are never empty; no OR, so that a generic plan still seeks by it).
-- The first due job of each tenant after $6, tenants in name order. The
-- tenants of the queue's waiting jobs are walked one seek at a time on the
-- tenant index (a loose index scan, stopped by the LIMIT), so a tenant's
-- deep backlog is never read.
WITH RECURSIVE tenants AS (
    (SELECT tenant FROM {schema}.jobs
     WHERE state = 'available' AND tenant IS NOT NULL AND hashtext(queue) = hashtext($1)
       AND queue = $1 AND tenant > $6
     ORDER BY tenant LIMIT 1)
    UNION ALL
    SELECT (SELECT j.tenant FROM {schema}.jobs AS j
            WHERE j.state = 'available' AND j.tenant IS NOT NULL
              AND hashtext(j.queue) = hashtext($1) AND j.queue = $1 AND j.tenant > t.tenant
            ORDER BY j.tenant LIMIT 1)
    FROM tenants AS t WHERE t.tenant IS NOT NULL
)
SELECT head.id, head.kind, head.tenant FROM tenants AS t
CROSS JOIN LATERAL (
    SELECT id, kind, tenant FROM {schema}.jobs
    WHERE state = 'available' AND tenant IS NOT NULL AND hashtext(queue) = hashtext($1)
      AND queue = $1 AND tenant = t.tenant AND run_at <= $2 AND kind = ANY($3)
    ORDER BY priority, run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
) AS head
WHERE t.tenant IS NOT NULL AND t.tenant <> ALL($5)
LIMIT $4
