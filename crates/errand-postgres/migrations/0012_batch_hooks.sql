-- A finished batch waits here (hook_pending) until one worker with a
-- batch-finished hook takes it: the finishing write marks it, so no path
-- that ends a batch (worker, rescue, cancel, delete) is missed, and a take
-- clears it, so each batch is delivered once. Batches finished before this
-- migration are not marked.
ALTER TABLE {schema}.batches ADD COLUMN hook_pending boolean NOT NULL DEFAULT false;

CREATE INDEX batches_hook_pending ON {schema}.batches (finished_at, id) WHERE hook_pending;

-- As in migration 10, and the finished batches are marked for their hooks.
CREATE OR REPLACE FUNCTION {schema}.batches_finish(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    WITH done AS (
        UPDATE {schema}.batches SET finished_at = changed_at, hook_pending = true
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
