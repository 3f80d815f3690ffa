-- One batch's running jobs ($4), few, gathered first through the index of
-- running jobs.
FROM (
    WITH running AS MATERIALIZED (
        SELECT * FROM {schema}.jobs WHERE state = 'running' AND batch_id = $4)
    SELECT * FROM running
) AS jobs
WHERE true
