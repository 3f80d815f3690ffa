-- ?1 JSON array of tenants. Jobs running now per tenant; a tenant running
-- none is not listed. Pinned to the partial index of running jobs, read
-- once: the tenant index would also walk every finished job of the tenant.
SELECT tenant, COUNT(*) FROM errand_jobs INDEXED BY errand_jobs_running_kind
WHERE state = 'running' AND tenant IN (SELECT value FROM json_each(?1))
GROUP BY tenant
