-- Running jobs ($5 'running'), gathered first (MATERIALIZED) through the
-- index of running jobs (their lease), then filtered and sorted;
-- otherwise the planner walks the primary key for the order, over every
-- job when few run.
FROM (
    WITH running AS MATERIALIZED (
        SELECT * FROM {schema}.jobs WHERE state = 'running')
    SELECT * FROM running
) AS jobs
WHERE true
