-- Fail or cancel for good. $1 JSON array of {id, attempt, error}; $2 worker;
-- $3 now; $4 the end state ('failed' or 'cancelled').
WITH c AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer, error jsonb)
)
UPDATE {schema}.jobs AS j
SET state = $4, finished_at = $3, lease_until = NULL,
    errors = j.errors || jsonb_build_array(c.error),
    unique_slot = CASE WHEN j.unique_scope = 'active' THEN NULL ELSE j.unique_slot END
FROM c
-- Each id is looked up by primary key, whatever the statistics say (see
-- finalize_complete.sql).
WHERE j.id = ANY(ARRAY(SELECT id FROM c))
  AND j.id = c.id AND (j.state || '') = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id, j.batch_id
