-- $1 JSON array of {id, attempt}; $2 worker; $3 new lease end.
UPDATE {schema}.jobs AS j
SET lease_until = $3
FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer)
WHERE j.id = c.id AND j.state = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id, j.attempt, j.cancel_requested
