-- One kind's waiting and running jobs ($1), few beside its finished ones,
-- gathered first through the indexes that hold only them.
FROM (
    WITH unfinished AS MATERIALIZED (
        SELECT * FROM {schema}.jobs WHERE kind = $1 AND state = 'available'
        UNION ALL
        SELECT * FROM {schema}.jobs WHERE kind = $1 AND state = 'running')
    SELECT * FROM unfinished
) AS jobs
WHERE true
