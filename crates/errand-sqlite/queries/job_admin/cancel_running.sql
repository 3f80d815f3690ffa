-- Running jobs are asked to stop; their worker sees the flag when it renews
-- leases and fires the job's CancellationToken.
UPDATE errand_jobs SET cancel_requested = 1
WHERE id IN (SELECT value FROM json_each(?1)) AND +state = 'running'
RETURNING id
