-- $1 now; $2 tenant filter (NULL: all).
SELECT queue,
       CASE WHEN state <> 'available' THEN state
            WHEN run_at <= $1 THEN 'available'
            WHEN attempt = 0 THEN 'scheduled'
            ELSE 'retrying' END AS state,
       count(*) AS count
FROM {schema}.jobs
WHERE $2::text IS NULL OR tenant = $2
GROUP BY 1, 2
ORDER BY 1, 2
