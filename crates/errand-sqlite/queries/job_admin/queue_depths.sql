-- ?1 now (micros). Due jobs per queue and the oldest due time, read from
-- the due index (available jobs only: finished rows are not in it).
SELECT queue, count(*) AS due, min(run_at) AS oldest_due_at
FROM errand_jobs
WHERE state = 'available' AND run_at <= ?1
GROUP BY queue
ORDER BY queue
