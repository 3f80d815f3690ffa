-- A listing of jobs is this, one of the FROM ... WHERE heads in this
-- folder (the index it walks, chosen by the filters: see
-- `errand_core::store::ListWalk`), then filters.sql. running.sql,
-- waiting.sql, by_batch.sql, by_kind.sql and by_queue.sql are whole
-- statements of their own.
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
