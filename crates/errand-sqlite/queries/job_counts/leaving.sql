-- ?1 id. Counts out the job if it has finished, before a statement that
-- takes it out of its finished state (RETURNING shows only the new row).
INSERT INTO errand_job_counts (queue, tenant, state, count)
SELECT queue, coalesce(tenant, ''), state, -1 FROM errand_jobs
WHERE id = ?1 AND state IN ('completed', 'failed', 'cancelled')
ON CONFLICT (queue, tenant, state) DO UPDATE SET count = count - 1
