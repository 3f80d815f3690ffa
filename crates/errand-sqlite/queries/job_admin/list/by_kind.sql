-- One kind's jobs (?1), down its index by kind and id.
FROM errand_jobs INDEXED BY errand_jobs_kind
WHERE kind = ?1
