-- The jobs that asked for one unique key ($6), few: gathered first through
-- the unique key index, then sorted (otherwise, with a stale estimate of
-- how many jobs hold a key, the planner walks the primary key for the
-- order, over every job when none does).
FROM (
    WITH keyed AS MATERIALIZED (
        SELECT * FROM {schema}.jobs WHERE unique_key = $6)
    SELECT * FROM keyed
) AS jobs
WHERE true
