-- Finished jobs counted per queue, tenant ('' for none) and state, so that
-- `stats` reads a few rows instead of every job: the statements that move
-- jobs into or out of a finished state (finalize, rescue, cancel, retry,
-- delete, prune) add their changes here in the same transaction. Row
-- triggers would keep it too, at a third of the job throughput.
CREATE TABLE errand_job_counts (
    queue  TEXT    NOT NULL,
    tenant TEXT    NOT NULL,
    state  TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (queue, tenant, state)
) WITHOUT ROWID;

INSERT INTO errand_job_counts (queue, tenant, state, count)
SELECT queue, coalesce(tenant, ''), state, count(*)
FROM errand_jobs
WHERE state IN ('completed', 'failed', 'cancelled')
GROUP BY 1, 2, 3;
