-- The parameters of enqueue_one.sql; $9 is the unique key. Inserts the job,
-- or, when an unfinished job holds the key, returns that job: one row (id,
-- duplicate). No row when the holder was committed after this statement's
-- snapshot began (the insert saw it, the select cannot): the caller runs it
-- again, with a new snapshot. A holder that finishes meanwhile no longer
-- conflicts, so the insert succeeds: never "skipped, and no holder".
WITH inserted AS (
    INSERT INTO {schema}.jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                               run_at, created_at, unique_key, unique_scope, unique_until, unique_slot,
                               batch_id, cron_name, cron_fire_at, meta)
    VALUES ($1, $2, $3, $4, $5, 'available', 0, $6, $7, $8, $9, $10, $11, $9, $12, $13, $14, $15)
    ON CONFLICT (unique_slot) WHERE unique_slot IS NOT NULL DO NOTHING
    RETURNING id
)
SELECT id, false AS duplicate FROM inserted
UNION ALL
SELECT id, true AS duplicate FROM {schema}.jobs
WHERE unique_slot = $9 AND NOT EXISTS (SELECT 1 FROM inserted)
