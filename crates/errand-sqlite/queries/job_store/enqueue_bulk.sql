-- ?1: JSON array of jobs without unique keys; ?2: now.
-- json_each yields the array in order and one statement holds the write lock,
-- so with AUTOINCREMENT the new ids are consecutive, in input order, ending at
-- last_insert_rowid().
INSERT INTO errand_jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                         run_at, created_at, batch_id, cron_name, cron_fire_at, meta)
SELECT j.value ->> 'kind', j.value ->> 'queue', j.value ->> 'priority', j.value ->> 'tenant',
       j.value -> 'input', 'available', 0, j.value ->> 'max_attempts', j.value ->> 'run_at', ?2,
       j.value ->> 'batch_id', j.value ->> 'cron_name', j.value ->> 'cron_fire_at', j.value -> 'meta'
FROM json_each(?1) AS j
