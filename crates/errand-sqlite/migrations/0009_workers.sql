-- Worker heartbeats: one row per worker process, replaced at every beat;
-- beat_at (microseconds) finds the dead ones to forget.
CREATE TABLE errand_workers (
    name    TEXT    PRIMARY KEY,
    beat_at INTEGER NOT NULL,
    beat    TEXT    NOT NULL
);
