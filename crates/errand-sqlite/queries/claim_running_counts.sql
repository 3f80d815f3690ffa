SELECT kind, COUNT(*) FROM errand_jobs
WHERE state = 'running' AND kind IN (SELECT value FROM json_each(?1))
GROUP BY kind
