-- Operators' changes: one row per change, newest by id; `at` finds the old
-- ones to prune.
CREATE TABLE {schema}.audit (
    id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL,
    record text        NOT NULL
);
CREATE INDEX audit_at ON {schema}.audit (at);
