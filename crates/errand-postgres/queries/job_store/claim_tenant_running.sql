-- $1 tenants (their locks held). Jobs running now per tenant; a tenant
-- running none is not listed.
SELECT tenant, count(*) FROM {schema}.jobs
WHERE state = 'running' AND tenant = ANY($1)
GROUP BY tenant
