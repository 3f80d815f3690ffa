-- Waiting jobs ($5 'scheduled', 'available' or 'retrying'), gathered
-- first (MATERIALIZED) through the index that holds only them, then
-- filtered and sorted; otherwise the planner walks the primary key for
-- the order, over every job when few wait.
FROM (
    WITH waiting AS MATERIALIZED (
        SELECT * FROM {schema}.jobs WHERE state = 'available')
    SELECT * FROM waiting
) AS jobs
WHERE true
