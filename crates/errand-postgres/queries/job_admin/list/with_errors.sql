-- Jobs whose errors contain a text ($10): only jobs with an error can, and
-- their index (migration 20) holds only them; the predicate is written as
-- the index's so that the planner can use it.
FROM {schema}.jobs
WHERE errors <> '[]'::jsonb
