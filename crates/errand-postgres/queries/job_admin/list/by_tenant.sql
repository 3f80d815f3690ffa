-- One tenant's jobs ($3), down its index by tenant and id.
FROM {schema}.jobs
WHERE tenant = $3
