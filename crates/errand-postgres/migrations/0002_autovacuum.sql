-- A job table is rewritten row by row all day: every claim and every result
-- leaves a dead tuple and dead entries in the partial indexes that claims
-- walk. Vacuum and analyze it after a small fraction of changes instead of
-- the default 20% / 10%, so claims stay as fast with a large table as with
-- a small one and the planner's figures stay current.
ALTER TABLE {schema}.jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 1000
);
