-- A new entry: $1 tenant ('' for none), $2 name, $3 kind, $4 input, $5 schedule,
-- $6 zone, $7 queue, $8 priority, $9 max_attempts, $10 meta, $11 overlap,
-- $12 missed, $13 next_fire_at, $14 now. Nothing when it exists.
INSERT INTO {schema}.cron_entries
    (tenant, name, kind, input, schedule, zone, queue, priority, max_attempts, meta,
     overlap, missed, enabled, next_fire_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, true, $13, $14, $14)
ON CONFLICT (tenant, name) DO NOTHING
RETURNING *
