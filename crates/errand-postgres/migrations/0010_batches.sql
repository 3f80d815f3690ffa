-- Batches: groups of jobs whose counts by state follow every change of
-- their jobs, kept by the triggers below in the statement that makes the
-- change (whatever makes it: a claim, a finalize, a rescue, a cancel, a
-- retry, a delete, the application's own transaction), so a status never
-- counts rows and no path can forget a batch. The triggers are per
-- statement: one update per batch however many of its jobs a statement
-- moves. `continuations` is a JSON array of {on, kind, queue, priority,
-- tenant, input, max_attempts, meta}; `changed_at` is the time of the last
-- job end, the finish time.
CREATE TABLE {schema}.batches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant        text,
    total         bigint      NOT NULL DEFAULT 0,
    waiting       bigint      NOT NULL DEFAULT 0,
    running       bigint      NOT NULL DEFAULT 0,
    completed     bigint      NOT NULL DEFAULT 0,
    failed        bigint      NOT NULL DEFAULT 0,
    cancelled     bigint      NOT NULL DEFAULT 0,
    sealed        boolean     NOT NULL DEFAULT false,
    continuations jsonb       NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL,
    changed_at    timestamptz NOT NULL,
    cancelled_at  timestamptz,
    finished_at   timestamptz
);

CREATE INDEX batches_tenant ON {schema}.batches (tenant, id) WHERE tenant IS NOT NULL;

-- Finishes the sealed batches among `ids` of which no job waits or runs,
-- and enqueues their continuations. The callers hold the batches' row
-- locks, so of two writes ending a batch's last jobs at once the second
-- sees the first's counts and finished_at: each batch finishes once.
CREATE FUNCTION {schema}.batches_finish(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    WITH done AS (
        UPDATE {schema}.batches SET finished_at = changed_at
        WHERE id = ANY(ids) AND finished_at IS NULL AND sealed AND waiting = 0 AND running = 0
        RETURNING id, changed_at, failed + cancelled AS failures, continuations
    )
    INSERT INTO {schema}.jobs (kind, queue, priority, tenant, input, state, max_attempts, run_at,
                               created_at, meta)
    SELECT c ->> 'kind', c ->> 'queue', (c ->> 'priority')::smallint, c ->> 'tenant', c -> 'input',
           'available', (c ->> 'max_attempts')::integer, done.changed_at, done.changed_at,
           (c -> 'meta') || jsonb_build_object('errand.continues', done.id::text)
    FROM done CROSS JOIN LATERAL jsonb_array_elements(done.continuations) WITH ORDINALITY AS e(c, n)
    WHERE c ->> 'on' = 'complete'
       OR (c ->> 'on' = 'success' AND done.failures = 0)
       OR (c ->> 'on' = 'failure' AND done.failures > 0)
    ORDER BY done.id, e.n
$$;

-- Locks the batches `ids` in id order (two statements touching the same
-- batches never wait on each other in a cycle); returns how many of them
-- take jobs (neither finished nor cancelled).
CREATE FUNCTION {schema}.batches_lock(ids bigint[]) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE finished_at IS NULL AND cancelled_at IS NULL) FROM (
        SELECT id, finished_at, cancelled_at FROM {schema}.batches
        WHERE id = ANY(ids) ORDER BY id FOR UPDATE
    ) AS locked
$$;

-- A job joins only an unfinished, uncancelled batch: once continuations are
-- enqueued no job may join what they report on.
CREATE FUNCTION {schema}.batch_jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT batch_id) INTO ids FROM new_jobs WHERE batch_id IS NOT NULL;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    IF {schema}.batches_lock(ids) < cardinality(ids) THEN
        RAISE EXCEPTION 'errand: a job names a batch that has finished or does not exist';
    END IF;
    UPDATE {schema}.batches AS b
    SET total = b.total + d.total, waiting = b.waiting + d.waiting, running = b.running + d.running,
        completed = b.completed + d.completed, failed = b.failed + d.failed,
        cancelled = b.cancelled + d.cancelled
    FROM (
        SELECT batch_id, count(*) AS total,
               count(*) FILTER (WHERE state = 'available') AS waiting,
               count(*) FILTER (WHERE state = 'running') AS running,
               count(*) FILTER (WHERE state = 'completed') AS completed,
               count(*) FILTER (WHERE state = 'failed') AS failed,
               count(*) FILTER (WHERE state = 'cancelled') AS cancelled
        FROM new_jobs WHERE batch_id IS NOT NULL GROUP BY batch_id
    ) AS d
    WHERE b.id = d.batch_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_batch_inserted AFTER INSERT ON {schema}.jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.batch_jobs_inserted();

CREATE FUNCTION {schema}.batch_jobs_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    -- Most statements (claims, finalizes, lease renewals of jobs without a
    -- batch) stop here.
    IF NOT EXISTS (SELECT 1 FROM new_jobs WHERE batch_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT n.batch_id) INTO ids
    FROM new_jobs AS n JOIN old_jobs AS o ON o.id = n.id
    WHERE n.batch_id IS NOT NULL AND n.state <> o.state;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM {schema}.batches_lock(ids);
    UPDATE {schema}.batches AS b
    SET waiting = b.waiting + d.waiting, running = b.running + d.running,
        completed = b.completed + d.completed, failed = b.failed + d.failed,
        cancelled = b.cancelled + d.cancelled, changed_at = coalesce(d.at, b.changed_at)
    FROM (
        SELECT n.batch_id,
               sum((n.state = 'available')::int - (o.state = 'available')::int) AS waiting,
               sum((n.state = 'running')::int - (o.state = 'running')::int) AS running,
               sum((n.state = 'completed')::int - (o.state = 'completed')::int) AS completed,
               sum((n.state = 'failed')::int - (o.state = 'failed')::int) AS failed,
               sum((n.state = 'cancelled')::int - (o.state = 'cancelled')::int) AS cancelled,
               max(n.finished_at) AS at
        FROM new_jobs AS n JOIN old_jobs AS o ON o.id = n.id
        WHERE n.batch_id IS NOT NULL AND n.state <> o.state
        GROUP BY n.batch_id
    ) AS d
    WHERE b.id = d.batch_id;
    PERFORM {schema}.batches_finish(ids);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_batch_moved AFTER UPDATE ON {schema}.jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.batch_jobs_moved();

-- A deleted job leaves an unfinished batch's counts; a finished batch keeps
-- the counts it finished with when its jobs are pruned.
CREATE FUNCTION {schema}.batch_jobs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT batch_id) INTO ids FROM old_jobs WHERE batch_id IS NOT NULL;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM {schema}.batches_lock(ids);
    UPDATE {schema}.batches AS b
    SET total = b.total - d.total, waiting = b.waiting - d.waiting, running = b.running - d.running,
        completed = b.completed - d.completed, failed = b.failed - d.failed,
        cancelled = b.cancelled - d.cancelled, changed_at = statement_timestamp()
    FROM (
        SELECT batch_id, count(*) AS total,
               count(*) FILTER (WHERE state = 'available') AS waiting,
               count(*) FILTER (WHERE state = 'running') AS running,
               count(*) FILTER (WHERE state = 'completed') AS completed,
               count(*) FILTER (WHERE state = 'failed') AS failed,
               count(*) FILTER (WHERE state = 'cancelled') AS cancelled
        FROM old_jobs WHERE batch_id IS NOT NULL GROUP BY batch_id
    ) AS d
    WHERE b.id = d.batch_id AND b.finished_at IS NULL;
    PERFORM {schema}.batches_finish(ids);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_batch_deleted AFTER DELETE ON {schema}.jobs
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.batch_jobs_deleted();
