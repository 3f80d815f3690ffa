-- Operators' changes: one row per change, newest by id; `at` (microseconds)
-- finds the old ones to prune.
CREATE TABLE errand_audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    record TEXT    NOT NULL
);
CREATE INDEX errand_audit_at ON errand_audit (at);
