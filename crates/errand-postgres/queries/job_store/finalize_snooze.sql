-- Snooze, or release at shutdown: waiting again without using the attempt.
-- $1 JSON array of {id, attempt, run_at}; $2 worker.
WITH c AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer, run_at timestamptz)
)
UPDATE {schema}.jobs AS j
SET state = 'available', run_at = c.run_at, attempt = j.attempt - 1, lease_until = NULL
FROM c
-- Each id is looked up by primary key, whatever the statistics say (see
-- finalize_complete.sql).
WHERE j.id = ANY(ARRAY(SELECT id FROM c))
  AND j.id = c.id AND (j.state || '') = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id, j.batch_id
