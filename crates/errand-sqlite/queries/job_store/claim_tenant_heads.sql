-- ?1 queue, ?2 now, ?3 JSON array of kinds that may still be claimed, ?4 limit,
-- ?5 JSON array of tenants passed over, ?6 the tenant after which to start
-- ('' for the first: names are never empty).
-- The first due job of each tenant after ?6, tenants in name order. The
-- tenants of the queue's waiting jobs are walked one seek at a time on the
-- tenant index (a loose index scan), so a tenant's deep backlog is never read.
WITH RECURSIVE tenants(tenant) AS (
    SELECT (SELECT tenant FROM errand_jobs INDEXED BY errand_jobs_due_tenant
            WHERE state = 'available' AND tenant IS NOT NULL AND queue = ?1
              AND tenant > ?6
            ORDER BY tenant LIMIT 1)
    UNION ALL
    SELECT (SELECT j.tenant FROM errand_jobs AS j INDEXED BY errand_jobs_due_tenant
            WHERE j.state = 'available' AND j.tenant IS NOT NULL AND j.queue = ?1
              AND j.tenant > t.tenant
            ORDER BY j.tenant LIMIT 1)
    FROM tenants AS t WHERE t.tenant IS NOT NULL
),
heads(tenant, id) AS (
    SELECT t.tenant,
           (SELECT j.id FROM errand_jobs AS j INDEXED BY errand_jobs_due_tenant
            WHERE j.state = 'available' AND j.tenant IS NOT NULL AND j.queue = ?1
              AND j.tenant = t.tenant AND j.run_at <= ?2
              AND j.kind IN (SELECT value FROM json_each(?3))
            ORDER BY j.priority, j.run_at, j.id LIMIT 1)
    FROM tenants AS t
    WHERE t.tenant IS NOT NULL AND t.tenant NOT IN (SELECT value FROM json_each(?5))
)
SELECT j.id, j.kind, j.tenant FROM heads AS h JOIN errand_jobs AS j ON j.id = h.id
WHERE h.id IS NOT NULL
LIMIT ?4
