-- One tenant's jobs (?3), down its index by tenant and id.
FROM errand_jobs INDEXED BY errand_jobs_tenant
WHERE tenant = ?3
