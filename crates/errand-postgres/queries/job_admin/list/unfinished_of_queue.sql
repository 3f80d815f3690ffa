-- One queue's waiting jobs ($2), through the due index by queue, and its
-- running jobs, gathered first.
FROM (
    WITH unfinished AS MATERIALIZED (
        SELECT * FROM {schema}.jobs
        WHERE queue = $2 AND hashtext(queue) = hashtext($2) AND state = 'available'
        UNION ALL
        SELECT * FROM {schema}.jobs WHERE queue = $2 AND state = 'running')
    SELECT * FROM unfinished
) AS jobs
WHERE true
