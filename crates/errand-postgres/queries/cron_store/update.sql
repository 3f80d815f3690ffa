-- A new definition of an existing entry (parameters as in insert.sql). Its
-- enabled flag and note stay; its next fire time changes only with its
-- schedule or zone (or when it had none left).
UPDATE {schema}.cron_entries
SET kind = $3, input = $4, queue = $7, priority = $8, max_attempts = $9, meta = $10,
    overlap = $11, missed = $12,
    next_fire_at = CASE
        WHEN schedule <> $5 OR zone <> $6 OR next_fire_at IS NULL THEN $13
        ELSE next_fire_at END,
    schedule = $5, zone = $6, updated_at = $14
WHERE tenant = $1 AND name = $2
RETURNING *
