-- Failed or cancelled jobs (?5), down their index by state and id
-- (migration 12), which holds no completed job.
FROM errand_jobs INDEXED BY errand_jobs_ended
WHERE state IN ('failed', 'cancelled') AND state = ?5
