-- ?1 batch id. Its running jobs are asked to stop; their workers see the
-- flag when they renew leases and fire the jobs' CancellationTokens.
UPDATE errand_jobs SET cancel_requested = 1
WHERE batch_id = ?1 AND state = 'running'
