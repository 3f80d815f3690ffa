-- One job without a unique key; its id is last_insert_rowid().
INSERT INTO errand_jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                         run_at, created_at, batch_id, cron_name, cron_fire_at, meta)
VALUES (?1, ?2, ?3, ?4, ?5, 'available', 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
