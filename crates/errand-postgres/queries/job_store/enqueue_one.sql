-- One job without a unique key ($9 - $11 are null); enqueue_unique.sql
-- inserts keyed jobs. Returns (id, duplicate) as that statement does.
INSERT INTO {schema}.jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                           run_at, created_at, unique_key, unique_scope, unique_until, unique_slot,
                           batch_id, cron_name, cron_fire_at, meta)
VALUES ($1, $2, $3, $4, $5, 'available', 0, $6, $7, $8, $9, $10, $11, $9, $12, $13, $14, $15)
RETURNING id, false AS duplicate
