-- $1 ids. The stored state, run_at and attempt of each that exists, locked
-- until the admin operation's transaction ends so that they still hold
-- when it writes.
SELECT id, state, run_at, attempt FROM {schema}.jobs WHERE id = ANY($1) FOR UPDATE
