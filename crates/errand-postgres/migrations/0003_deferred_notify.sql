-- errand's own enqueue connections set `errand.notify = deferred` and send one
-- notification after their commits for however many inserts committed
-- meanwhile: a NOTIFY serializes commits, one per insert halves the rate of
-- concurrent enqueues. Any other writer (an application's transaction)
-- notifies here, on its commit.
CREATE OR REPLACE FUNCTION {schema}.notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('errand.notify', true), '') <> 'deferred' THEN
        PERFORM pg_notify('{channel}', '');
    END IF;
    RETURN NULL;
END
$$;
