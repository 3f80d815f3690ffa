-- The attempts a job was enqueued with, kept by its first manual retry
-- (NULL until then: max_attempts is still the budget). Each retry allows
-- this many attempts more than the job has had: a fresh budget, not one
-- more attempt.
ALTER TABLE errand_jobs ADD COLUMN attempt_budget INTEGER;
