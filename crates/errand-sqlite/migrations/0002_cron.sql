-- Cron entries and their fire ledgers. The tenant is '' for none, so that
-- (tenant, name) is a plain key. Times are unix microseconds.
CREATE TABLE errand_cron_entries (
    tenant           TEXT    NOT NULL DEFAULT '',
    name             TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    input            TEXT    NOT NULL,
    schedule         TEXT    NOT NULL,
    zone             TEXT    NOT NULL,
    queue            TEXT,
    priority         INTEGER,
    max_attempts     INTEGER,
    meta             TEXT    NOT NULL DEFAULT '{}',
    overlap          TEXT    NOT NULL,
    missed           TEXT    NOT NULL,
    enabled          INTEGER NOT NULL DEFAULT 1,
    note             TEXT,
    next_fire_at     INTEGER,
    last_fire_at     INTEGER,
    last_job_id      INTEGER,
    buffered_fire_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
);

-- Schedulers look for due entries and buffered fires once a second.
CREATE INDEX errand_cron_entries_due ON errand_cron_entries (next_fire_at)
    WHERE next_fire_at IS NOT NULL;
CREATE INDEX errand_cron_entries_buffered ON errand_cron_entries (buffered_fire_at)
    WHERE buffered_fire_at IS NOT NULL;

-- Every decision about a fire time. A scheduled fire time is decided once
-- (the unique index), whatever becomes of its job; manual triggers are not
-- fire times of the schedule. Each entry keeps its newest 100 records.
CREATE TABLE errand_cron_ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    fire_at    INTEGER NOT NULL,
    decided_at INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    fires      INTEGER NOT NULL,
    job_id     INTEGER
);
CREATE UNIQUE INDEX errand_cron_ledger_fire ON errand_cron_ledger (tenant, name, fire_at)
    WHERE reason <> 'manual';
CREATE INDEX errand_cron_ledger_entry ON errand_cron_ledger (tenant, name, id);
