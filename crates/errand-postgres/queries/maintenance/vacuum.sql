-- Removes the dead row versions, and the index entries pointing to them,
-- that claims and results leave behind (see `PgOptions::vacuum_every`).
-- SKIP_LOCKED: while another process, or autovacuum, vacuums the table this
-- one skips it instead of waiting. INDEX_CLEANUP ON: the index entries are
-- the point, and by default a vacuum leaves them when few heap pages hold
-- dead rows (a large table of finished jobs). TRUNCATE false: a job table
-- grows again at once, and cutting its end needs a lock that stops claims.
VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON, TRUNCATE false) {schema}.jobs
