-- Many jobs that differ only by their input: the shared fields are bound
-- once and only the inputs travel as a JSON array (?1), so SQLite does no
-- per-row field extraction. json_quote turns each element back into JSON text
-- (strings keep their quotes, null becomes 'null').
-- The new ids are consecutive in array order, ending at last_insert_rowid().
INSERT INTO errand_jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                         run_at, created_at, batch_id, cron_name, cron_fire_at, meta)
SELECT ?2, ?3, ?4, ?5, json_quote(j.value), 'available', 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12
FROM json_each(?1) AS j
