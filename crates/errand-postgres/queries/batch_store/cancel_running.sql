-- $1 batch id. Its running jobs are asked to stop; their workers see the
-- flag when they renew leases and fire the jobs' CancellationTokens.
UPDATE {schema}.jobs SET cancel_requested = true
WHERE batch_id = $1 AND state = 'running'
