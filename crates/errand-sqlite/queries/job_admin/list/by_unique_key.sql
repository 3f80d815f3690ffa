-- The jobs that asked for one unique key (?6), few, then sorted.
FROM errand_jobs INDEXED BY errand_jobs_unique_key
WHERE unique_key = ?6
