-- One batch's jobs (?4), down its index by batch and id.
FROM errand_jobs INDEXED BY errand_jobs_batch
WHERE batch_id = ?4
