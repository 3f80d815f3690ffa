-- $1 JSON array of {id, attempt, run_at, error}; $2 worker.
UPDATE {schema}.jobs AS j
SET state = 'available', run_at = c.run_at, lease_until = NULL,
    errors = j.errors || jsonb_build_array(c.error)
FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer, run_at timestamptz, error jsonb)
-- Each id is looked up by primary key, whatever the statistics say (see
-- finalize_complete.sql).
WHERE j.id = ANY(ARRAY(SELECT (e ->> 'id')::bigint FROM jsonb_array_elements($1) AS e))
  AND j.id = c.id AND (j.state || '') = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id
