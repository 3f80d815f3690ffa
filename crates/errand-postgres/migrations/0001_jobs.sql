-- {schema} is replaced by the store's schema (a validated identifier) and
-- {channel} by its notification channel before these statements run.
-- `state` is the stored state: available (waiting, due or not), running,
-- completed, failed, cancelled; scheduled/available/retrying are derived on read.
CREATE TABLE {schema}.jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL,
    queue            text        NOT NULL,
    priority         smallint    NOT NULL DEFAULT 0,
    tenant           text,
    input            jsonb       NOT NULL,
    output           jsonb,
    errors           jsonb       NOT NULL DEFAULT '[]',
    state            text        NOT NULL,
    attempt          integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL,
    run_at           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    lease_until      timestamptz,
    worker           text,
    -- unique_key is what the user asked for; unique_slot is what the unique
    -- index enforces; it is cleared when the key stops holding.
    unique_key       text,
    unique_scope     text,
    unique_until     timestamptz,
    unique_slot      text,
    batch_id         bigint,
    cron_name        text,
    cron_fire_at     timestamptz,
    meta             jsonb       NOT NULL DEFAULT '{}',
    cancel_requested boolean     NOT NULL DEFAULT false
);

-- Claiming reads due jobs of a queue in order; finished rows are not in it.
CREATE INDEX jobs_due ON {schema}.jobs (queue, priority, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_lease ON {schema}.jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_running_kind ON {schema}.jobs (kind) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_unique_slot ON {schema}.jobs (unique_slot) WHERE unique_slot IS NOT NULL;
CREATE INDEX jobs_finished ON {schema}.jobs (finished_at)
    WHERE state IN ('completed', 'failed', 'cancelled');
CREATE INDEX jobs_kind ON {schema}.jobs (kind, id);
CREATE INDEX jobs_tenant ON {schema}.jobs (tenant, id) WHERE tenant IS NOT NULL;
CREATE INDEX jobs_batch ON {schema}.jobs (batch_id, id) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_unique_key ON {schema}.jobs (unique_key) WHERE unique_key IS NOT NULL;

-- One notification per inserting statement, sent when its transaction
-- commits: an enqueue inside the application's own transaction wakes workers
-- only if that transaction commits.
CREATE FUNCTION {schema}.notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{channel}', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify AFTER INSERT ON {schema}.jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_jobs();
