-- Batches: groups of jobs whose counts by state follow every change of
-- their jobs, kept by the triggers below in the write that makes the change
-- (whatever makes it: a claim, a finalize, a rescue, a cancel, a retry, a
-- delete, the application's own transaction), so a status never counts
-- rows and no path can forget a batch. `continuations` is a JSON array of
-- {on, kind, queue, priority, tenant, input, max_attempts, meta};
-- `changed_at` is the time of the last job end, the finish time.
CREATE TABLE errand_batches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT,
    total         INTEGER NOT NULL DEFAULT 0,
    waiting       INTEGER NOT NULL DEFAULT 0,
    running       INTEGER NOT NULL DEFAULT 0,
    completed     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    cancelled     INTEGER NOT NULL DEFAULT 0,
    sealed        INTEGER NOT NULL DEFAULT 0,
    continuations TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL,
    cancelled_at  INTEGER,
    finished_at   INTEGER
);

CREATE INDEX errand_batches_tenant ON errand_batches (tenant, id) WHERE tenant IS NOT NULL;

-- A job joins only an unfinished, uncancelled batch: once continuations are
-- enqueued no job may join what they report on.
CREATE TRIGGER errand_batch_job_added AFTER INSERT ON errand_jobs
WHEN NEW.batch_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'errand: a job names a batch that has finished or does not exist')
    WHERE NOT EXISTS (SELECT 1 FROM errand_batches
                      WHERE id = NEW.batch_id AND finished_at IS NULL AND cancelled_at IS NULL);
    UPDATE errand_batches
    SET total = total + 1,
        waiting = waiting + (NEW.state = 'available'),
        running = running + (NEW.state = 'running'),
        completed = completed + (NEW.state = 'completed'),
        failed = failed + (NEW.state = 'failed'),
        cancelled = cancelled + (NEW.state = 'cancelled')
    WHERE id = NEW.batch_id;
END;

CREATE TRIGGER errand_batch_job_moved AFTER UPDATE OF state ON errand_jobs
WHEN NEW.batch_id IS NOT NULL AND OLD.state <> NEW.state
BEGIN
    UPDATE errand_batches
    SET waiting = waiting + (NEW.state = 'available') - (OLD.state = 'available'),
        running = running + (NEW.state = 'running') - (OLD.state = 'running'),
        completed = completed + (NEW.state = 'completed') - (OLD.state = 'completed'),
        failed = failed + (NEW.state = 'failed') - (OLD.state = 'failed'),
        cancelled = cancelled + (NEW.state = 'cancelled') - (OLD.state = 'cancelled'),
        changed_at = coalesce(NEW.finished_at, changed_at)
    WHERE id = NEW.batch_id;
END;

-- A deleted job leaves an unfinished batch's counts; a finished batch keeps
-- the counts it finished with when its jobs are pruned.
CREATE TRIGGER errand_batch_job_deleted AFTER DELETE ON errand_jobs
WHEN OLD.batch_id IS NOT NULL
BEGIN
    UPDATE errand_batches
    SET total = total - 1,
        waiting = waiting - (OLD.state = 'available'),
        running = running - (OLD.state = 'running'),
        completed = completed - (OLD.state = 'completed'),
        failed = failed - (OLD.state = 'failed'),
        cancelled = cancelled - (OLD.state = 'cancelled'),
        changed_at = CAST(unixepoch('subsec') * 1000000 AS INTEGER)
    WHERE id = OLD.batch_id AND finished_at IS NULL;
END;

-- The end of a sealed batch's last job finishes it and enqueues its
-- continuations, in that same write: exactly once, as SQLite runs one
-- writer at a time and this trigger does not fire again for a finished
-- batch.
CREATE TRIGGER errand_batch_finished AFTER UPDATE OF waiting, running, sealed ON errand_batches
WHEN NEW.finished_at IS NULL AND NEW.sealed = 1 AND NEW.waiting = 0 AND NEW.running = 0
BEGIN
    INSERT INTO errand_jobs (kind, queue, priority, tenant, input, state, max_attempts, run_at,
                             created_at, meta)
    SELECT c.value ->> 'kind', c.value ->> 'queue', c.value ->> 'priority', c.value ->> 'tenant',
           json(c.value -> 'input'), 'available', c.value ->> 'max_attempts', NEW.changed_at,
           NEW.changed_at, json_set(c.value -> 'meta', '$."errand.continues"', CAST(NEW.id AS TEXT))
    FROM json_each(NEW.continuations) AS c
    WHERE c.value ->> 'on' = 'complete'
       OR (c.value ->> 'on' = 'success' AND NEW.failed + NEW.cancelled = 0)
       OR (c.value ->> 'on' = 'failure' AND NEW.failed + NEW.cancelled > 0)
    ORDER BY c.key;
    UPDATE errand_batches SET finished_at = NEW.changed_at WHERE id = NEW.id;
END;
