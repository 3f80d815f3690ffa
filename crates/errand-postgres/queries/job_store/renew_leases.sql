-- $1 JSON array of {id, attempt}; $2 worker; $3 new lease end.
WITH c AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer)
)
UPDATE {schema}.jobs AS j
SET lease_until = $3
FROM c
-- Each id is looked up by primary key, whatever the statistics say (see
-- finalize_complete.sql).
WHERE j.id = ANY(ARRAY(SELECT id FROM c))
  AND j.id = c.id AND (j.state || '') = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id, j.attempt, j.cancel_requested
