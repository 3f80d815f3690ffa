-- Jobs whose errors contain a text (?10): only jobs with an error can, and
-- their index (migration 13) holds only them.
FROM errand_jobs INDEXED BY errand_jobs_erred
WHERE errors <> '[]'
