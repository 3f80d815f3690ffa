-- As in migration 10, with each batch's counts updated by one statement
-- whose plan the function keeps: the update takes the batch's row lock,
-- in batch id order (no cycle of waits), and says whether the batch may
-- finish, so a write that finishes nothing runs no other statement.
-- (`batches_lock` and `batches_finish` are SQL functions, planned anew on
-- every call: on the path of every claim and finalize of a batch's jobs
-- that cost more than the counting.)
CREATE OR REPLACE FUNCTION {schema}.batch_jobs_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d record;
    finishing boolean;
BEGIN
    -- Most statements (claims, finalizes, lease renewals of jobs without a
    -- batch) stop here.
    IF NOT EXISTS (SELECT 1 FROM new_jobs WHERE batch_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    FOR d IN
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
        ORDER BY n.batch_id
    LOOP
        UPDATE {schema}.batches AS b
        SET waiting = b.waiting + d.waiting, running = b.running + d.running,
            completed = b.completed + d.completed, failed = b.failed + d.failed,
            cancelled = b.cancelled + d.cancelled, changed_at = coalesce(d.at, b.changed_at)
        WHERE b.id = d.batch_id
        RETURNING b.finished_at IS NULL AND b.sealed AND b.waiting = 0 AND b.running = 0
        INTO finishing;
        IF finishing THEN
            PERFORM {schema}.batches_finish(ARRAY[d.batch_id]);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- A batch's running jobs are few (at most the workers' concurrency) and
-- found through the lease index; leaving them out of the batch index
-- spares every claim of a batch's job one index insert.
DROP INDEX {schema}.jobs_batch;
CREATE INDEX jobs_batch ON {schema}.jobs (batch_id, id) WHERE batch_id IS NOT NULL AND state <> 'running';
