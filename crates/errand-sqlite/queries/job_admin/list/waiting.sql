-- Waiting jobs (?5 'scheduled', 'available' or 'retrying'), through the
-- index that holds only them (named, as running.sql), then sorted.
FROM errand_jobs INDEXED BY errand_jobs_due
WHERE state = 'available'
