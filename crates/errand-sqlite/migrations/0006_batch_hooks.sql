-- A finished batch waits here (hook_pending = 1) until one worker with a
-- batch-finished hook takes it: the finishing write marks it, so no path
-- that ends a batch (worker, rescue, cancel, delete) is missed, and a take
-- clears it, so each batch is delivered once. Batches finished before this
-- migration are not marked.
ALTER TABLE errand_batches ADD COLUMN hook_pending INTEGER NOT NULL DEFAULT 0;

CREATE INDEX errand_batches_hook_pending ON errand_batches (finished_at, id)
WHERE hook_pending = 1;

DROP TRIGGER errand_batch_finished;

-- As in migration 4, and the finished batch is marked for its hooks.
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
    UPDATE errand_batches SET finished_at = NEW.changed_at, hook_pending = 1 WHERE id = NEW.id;
END;
