-- Running jobs are asked to stop; their worker sees the flag when it renews
-- leases and fires the job's CancellationToken.
UPDATE {schema}.jobs SET cancel_requested = true
WHERE id = ANY($1) AND state = 'running'
RETURNING id
