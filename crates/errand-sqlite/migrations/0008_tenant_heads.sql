-- Fair claiming finds each tenant's first due job in a queue by this index,
-- one seek per tenant, however deep another tenant's backlog is. Jobs
-- without a tenant are not in it, so they cost it nothing.
CREATE INDEX errand_jobs_due_tenant ON errand_jobs (queue, tenant, priority, run_at, id)
    WHERE state = 'available' AND tenant IS NOT NULL;
