-- Times are unix microseconds (INTEGER): cheap to compare and index.
-- `state` is the stored state: available (waiting, due or not), running,
-- completed, failed, cancelled. The public scheduled/available/retrying
-- states are derived from run_at and attempt when a job is read.
CREATE TABLE errand_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    tenant           TEXT,
    input            TEXT    NOT NULL,
    output           TEXT,
    errors           TEXT    NOT NULL DEFAULT '[]',
    state            TEXT    NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    lease_until      INTEGER,
    worker           TEXT,
    -- unique_key is what the user asked for; unique_slot is what the unique
    -- index enforces. The slot is cleared when the key stops holding: when the
    -- job finishes (scope active) or when a later enqueue finds unique_until
    -- passed (scope period).
    unique_key       TEXT,
    unique_scope     TEXT,
    unique_until     INTEGER,
    unique_slot      TEXT,
    batch_id         INTEGER,
    cron_name        TEXT,
    cron_fire_at     INTEGER,
    meta             TEXT    NOT NULL DEFAULT '{}',
    cancel_requested INTEGER NOT NULL DEFAULT 0
);

-- Claiming reads this index in queue order; finished rows are not in it, so
-- keeping millions of them costs claims nothing.
CREATE INDEX errand_jobs_due ON errand_jobs (queue, priority, run_at, id)
    WHERE state = 'available';

-- Rescue of expired leases and global per-kind limits look at running jobs only.
CREATE INDEX errand_jobs_lease ON errand_jobs (lease_until)
    WHERE state = 'running';
CREATE INDEX errand_jobs_running_kind ON errand_jobs (kind)
    WHERE state = 'running';

CREATE UNIQUE INDEX errand_jobs_unique_slot ON errand_jobs (unique_slot)
    WHERE unique_slot IS NOT NULL;

-- Pruning reads finished jobs by age.
CREATE INDEX errand_jobs_finished ON errand_jobs (finished_at)
    WHERE state IN ('completed', 'failed', 'cancelled');

-- Lists by kind, tenant, batch, unique key (newest first).
CREATE INDEX errand_jobs_kind ON errand_jobs (kind, id);
CREATE INDEX errand_jobs_tenant ON errand_jobs (tenant, id) WHERE tenant IS NOT NULL;
CREATE INDEX errand_jobs_batch ON errand_jobs (batch_id, id) WHERE batch_id IS NOT NULL;
CREATE INDEX errand_jobs_unique_key ON errand_jobs (unique_key) WHERE unique_key IS NOT NULL;
