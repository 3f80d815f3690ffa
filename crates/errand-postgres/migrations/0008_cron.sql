-- Cron entries and their fire ledgers. The tenant is '' for none, so that
-- (tenant, name) is a plain key.
CREATE TABLE {schema}.cron_entries (
    tenant           text        NOT NULL DEFAULT '',
    name             text        NOT NULL,
    kind             text        NOT NULL,
    input            jsonb       NOT NULL,
    schedule         text        NOT NULL,
    zone             text        NOT NULL,
    queue            text,
    priority         smallint,
    max_attempts     integer,
    meta             jsonb       NOT NULL DEFAULT '{}',
    overlap          text        NOT NULL,
    missed           text        NOT NULL,
    enabled          boolean     NOT NULL DEFAULT true,
    note             text,
    next_fire_at     timestamptz,
    last_fire_at     timestamptz,
    last_job_id      bigint,
    buffered_fire_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant, name)
);

-- Schedulers look for due entries and buffered fires once a second.
CREATE INDEX cron_entries_due ON {schema}.cron_entries (next_fire_at)
    WHERE next_fire_at IS NOT NULL;
CREATE INDEX cron_entries_buffered ON {schema}.cron_entries (buffered_fire_at)
    WHERE buffered_fire_at IS NOT NULL;

-- Every decision about a fire time. A scheduled fire time is decided once
-- (the unique index), whatever becomes of its job; manual triggers are not
-- fire times of the schedule. Each entry keeps its newest 100 records.
CREATE TABLE {schema}.cron_ledger (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant     text        NOT NULL,
    name       text        NOT NULL,
    fire_at    timestamptz NOT NULL,
    decided_at timestamptz NOT NULL,
    reason     text        NOT NULL,
    fires      bigint      NOT NULL,
    job_id     bigint
);
CREATE UNIQUE INDEX cron_ledger_fire ON {schema}.cron_ledger (tenant, name, fire_at)
    WHERE reason <> 'manual';
CREATE INDEX cron_ledger_entry ON {schema}.cron_ledger (tenant, name, id);
