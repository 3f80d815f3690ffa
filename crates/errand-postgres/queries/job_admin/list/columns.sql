-- A listing of jobs is this, one of the FROM ... WHERE heads in this
-- folder (the index it walks, chosen by the filters: see
-- `errand_core::store::ListWalk`), then filters.sql. Kind, queue and
-- batch listings are two such listings merged (merge_*.sql).
SELECT id, kind, queue, priority, tenant, input, output, errors, state, attempt, max_attempts,
       run_at, created_at, started_at, finished_at, lease_until, worker, unique_key,
       batch_id, cron_name, cron_fire_at, meta, cancel_requested
