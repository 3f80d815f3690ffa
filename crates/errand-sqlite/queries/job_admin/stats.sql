-- ?1 now; ?2 tenant filter (NULL: all); ?3 1 to count per tenant too (the
-- tenant column NULL for jobs without one), 0 for all tenants together
-- (NULL). Waiting and running jobs are counted through the indexes that
-- hold only them (named: the planner would rather walk the table for the
-- grouping); finished ones are read from their counts (see migration 11),
-- however many there are.
SELECT queue,
       CASE WHEN run_at <= ?1 THEN 'available'
            WHEN attempt = 0 THEN 'scheduled'
            ELSE 'retrying' END AS state,
       CASE WHEN ?3 THEN tenant END AS tenant,
       count(*) AS count
FROM errand_jobs INDEXED BY errand_jobs_due
WHERE state = 'available' AND (?2 IS NULL OR tenant = ?2)
GROUP BY 1, 2, 3
UNION ALL
SELECT queue, 'running', CASE WHEN ?3 THEN tenant END, count(*)
FROM errand_jobs INDEXED BY errand_jobs_lease
WHERE state = 'running' AND (?2 IS NULL OR tenant = ?2)
GROUP BY 1, 3
UNION ALL
SELECT queue, state, CASE WHEN ?3 THEN nullif(tenant, '') END, sum(count)
FROM errand_job_counts
WHERE ?2 IS NULL OR tenant = ?2
GROUP BY 1, 2, 3
HAVING sum(count) > 0
ORDER BY 1, 2, 3
