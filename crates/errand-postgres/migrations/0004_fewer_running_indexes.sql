-- Every claim inserts an entry into each index whose predicate the running
-- row meets. The running set is small (what workers hold right now), so the
-- lease index also serves the running counts of global limits, and the
-- separate index on the kinds of running jobs goes: one index write less per
-- claimed job.
DROP INDEX IF EXISTS {schema}.jobs_running_kind;
