-- Failed or cancelled jobs ($5): the state also written as the literal
-- list of their index by state and id (migration 19), which holds no
-- completed job, so that the walk down that index gives the order.
FROM {schema}.jobs
WHERE state IN ('failed', 'cancelled') AND state = $5
