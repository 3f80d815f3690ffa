-- $1 now; $2 tenant filter (NULL: all). Waiting and running jobs are
-- counted through the partial indexes that hold only them; finished ones
-- are read from their counts and the changes not yet folded into them (see
-- migration 18), however many jobs there are.
SELECT queue,
       CASE WHEN run_at <= $1 THEN 'available'
            WHEN attempt = 0 THEN 'scheduled'
            ELSE 'retrying' END AS state,
       count(*) AS count
FROM {schema}.jobs
WHERE state = 'available' AND ($2::text IS NULL OR tenant = $2)
GROUP BY 1, 2
UNION ALL
SELECT queue, 'running', count(*)
FROM {schema}.jobs
WHERE state = 'running' AND ($2::text IS NULL OR tenant = $2)
GROUP BY 1
UNION ALL
SELECT queue, state, sum(count)::bigint
FROM (SELECT queue, tenant, state, count FROM {schema}.job_counts
      UNION ALL
      SELECT queue, tenant, state, change FROM {schema}.job_count_changes) AS finished
WHERE $2::text IS NULL OR tenant = $2
GROUP BY 1, 2
HAVING sum(count) > 0
ORDER BY 1, 2
