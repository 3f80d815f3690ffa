-- ?1 JSON array of ids. The stored state, run_at and attempt of each that
-- exists (read inside the admin operation's write transaction).
SELECT id, state, run_at, attempt FROM errand_jobs WHERE id IN (SELECT value FROM json_each(?1))
