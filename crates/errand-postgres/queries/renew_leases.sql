-- $1 JSON array of {id, attempt}; $2 worker; $3 new lease end.
UPDATE {schema}.jobs AS j
SET lease_until = $3
FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer)
-- `j.state || ''` keeps the planner off the partial 'running' indexes, whose
-- dead entries pile up between vacuums (and a stale estimate once made it scan
-- them once per input row): each id is looked up by primary key.
WHERE j.id = c.id AND (j.state || '') = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id, j.attempt, j.cancel_requested
