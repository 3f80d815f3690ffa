-- Worker heartbeats: one row per worker process, replaced at every beat;
-- beat_at finds the dead ones to forget.
CREATE TABLE {schema}.workers (
    name    text        PRIMARY KEY,
    beat_at timestamptz NOT NULL,
    beat    text        NOT NULL
);
