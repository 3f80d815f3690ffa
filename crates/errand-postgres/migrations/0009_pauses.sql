-- Pauses of processing: scope 'all' (name ''), 'queue' or 'tenant'. Kept in
-- the store so that every worker sees them and no restart clears them.
CREATE TABLE {schema}.pauses (
    scope     text        NOT NULL,
    name      text        NOT NULL,
    paused_by text        NOT NULL,
    note      text,
    paused_at timestamptz NOT NULL,
    PRIMARY KEY (scope, name)
);
