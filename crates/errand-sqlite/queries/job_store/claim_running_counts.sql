-- Pinned to the partial index of running jobs: the (kind, id) index would
-- also walk every finished job of the kind.
SELECT kind, COUNT(*) FROM errand_jobs INDEXED BY errand_jobs_running_kind
WHERE state = 'running' AND kind IN (SELECT value FROM json_each(?1))
GROUP BY kind
