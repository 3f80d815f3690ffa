-- One queue's jobs (?2), down its index by queue and id (migration 13).
FROM errand_jobs INDEXED BY errand_jobs_queue
WHERE queue = ?2
