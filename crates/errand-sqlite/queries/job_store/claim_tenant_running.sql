-- ?1 JSON array of tenants. Jobs running now per tenant, zero included.
-- Pinned to the partial index of running jobs: the tenant index would also
-- walk every finished job of the tenant.
SELECT t.value AS tenant,
       (SELECT COUNT(*) FROM errand_jobs INDEXED BY errand_jobs_running_kind
        WHERE state = 'running' AND tenant = t.value) AS running
FROM json_each(?1) AS t
