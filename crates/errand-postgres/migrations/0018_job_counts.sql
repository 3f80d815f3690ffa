-- Finished jobs counted per queue, tenant ('' for none) and state, so that
-- `stats` reads a few rows instead of every job. Statement triggers append
-- what each statement moved into or out of a finished state to
-- job_count_changes, never updating a row there, so that the finalizers of
-- many workers do not queue on one counter row; a maintenance service folds
-- the changes into job_counts, and readers add both.
CREATE TABLE {schema}.job_counts (
    queue  text   NOT NULL,
    tenant text   NOT NULL,
    state  text   NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (queue, tenant, state)
);

CREATE TABLE {schema}.job_count_changes (
    queue  text   NOT NULL,
    tenant text   NOT NULL,
    state  text   NOT NULL,
    change bigint NOT NULL
);

-- Claims and lease renewals move no job into or out of a finished state:
-- their statements insert nothing (the HAVING leaves every group out).
CREATE FUNCTION {schema}.job_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.job_count_changes (queue, tenant, state, change)
    SELECT queue, tenant, state, sum(change)
    FROM (
        SELECT queue, coalesce(tenant, '') AS tenant, state, 1 AS change
        FROM new_jobs WHERE state IN ('completed', 'failed', 'cancelled')
        UNION ALL
        SELECT queue, coalesce(tenant, ''), state, -1
        FROM old_jobs WHERE state IN ('completed', 'failed', 'cancelled')
    ) AS moved
    GROUP BY 1, 2, 3
    HAVING sum(change) <> 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION {schema}.job_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.job_count_changes (queue, tenant, state, change)
    SELECT queue, coalesce(tenant, ''), state, -count(*)
    FROM old_jobs WHERE state IN ('completed', 'failed', 'cancelled')
    GROUP BY 1, 2, 3;
    RETURN NULL;
END
$$;

-- Jobs are enqueued waiting, never finished: inserts need no trigger.
-- The triggers are created before the jobs are counted: each takes a lock
-- that keeps other writers of the table out until this migration commits,
-- so no move falls between the count and the triggers.
CREATE TRIGGER jobs_counted_moved AFTER UPDATE ON {schema}.jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.job_counts_moved();

CREATE TRIGGER jobs_counted_deleted AFTER DELETE ON {schema}.jobs
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.job_counts_deleted();

INSERT INTO {schema}.job_counts (queue, tenant, state, count)
SELECT queue, coalesce(tenant, ''), state, count(*)
FROM {schema}.jobs
WHERE state IN ('completed', 'failed', 'cancelled')
GROUP BY 1, 2, 3;
