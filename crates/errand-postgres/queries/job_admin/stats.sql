-- $1 now; $2 tenant filter (NULL: all); $3 true to count per tenant too
-- (the tenant column NULL for jobs without one), false for all tenants
-- together (NULL). Waiting and running jobs are counted through the
-- partial indexes that hold only them; finished ones are read from their
-- counts and the changes not yet folded into them (see migration 18),
-- however many jobs there are.
SELECT * FROM (
    SELECT queue,
           CASE WHEN run_at <= $1 THEN 'available'
                WHEN attempt = 0 THEN 'scheduled'
                ELSE 'retrying' END AS state,
           CASE WHEN $3::boolean THEN tenant END AS tenant,
           count(*) AS count
    FROM {schema}.jobs
    WHERE state = 'available' AND ($2::text IS NULL OR tenant = $2)
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT queue, 'running', CASE WHEN $3::boolean THEN tenant END, count(*)
    FROM {schema}.jobs
    WHERE state = 'running' AND ($2::text IS NULL OR tenant = $2)
    GROUP BY 1, 3
    UNION ALL
    SELECT queue, state, CASE WHEN $3::boolean THEN nullif(tenant, '') END, sum(count)::bigint
    FROM (SELECT queue, tenant, state, count FROM {schema}.job_counts
          UNION ALL
          SELECT queue, tenant, state, change FROM {schema}.job_count_changes) AS finished
    WHERE $2::text IS NULL OR tenant = $2
    GROUP BY 1, 2, 3
    HAVING sum(count) > 0
) AS counts
-- Byte order (the "C" collation), as the other stores sort.
ORDER BY queue COLLATE "C", state, tenant COLLATE "C" NULLS FIRST
