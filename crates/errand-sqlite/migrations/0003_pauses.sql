-- Pauses of processing: scope 'all' (name ''), 'queue' or 'tenant'. Kept in
-- the store so that every worker sees them and no restart clears them.
CREATE TABLE errand_pauses (
    scope     TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    paused_by TEXT    NOT NULL,
    note      TEXT,
    paused_at INTEGER NOT NULL,
    PRIMARY KEY (scope, name)
);
