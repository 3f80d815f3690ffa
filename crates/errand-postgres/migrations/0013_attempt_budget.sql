-- The attempts a job was enqueued with, kept by its first manual retry
-- (NULL until then: max_attempts is still the budget). Each retry allows
-- this many attempts more than the job has had: a fresh budget, not one
-- more attempt. Nullable without a default: adding it rewrites nothing.
ALTER TABLE {schema}.jobs ADD COLUMN attempt_budget integer;
