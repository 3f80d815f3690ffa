-- $1 JSON array of {id, attempt, output}; $2 worker; $3 now.
-- Fencing: only a job still running with that attempt for that worker changes.
WITH c AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1) AS c(id bigint, attempt integer, output jsonb)
)
UPDATE {schema}.jobs AS j
SET state = 'completed', output = c.output, finished_at = $3, lease_until = NULL,
    unique_slot = CASE WHEN j.unique_scope = 'active' THEN NULL ELSE j.unique_slot END
FROM c
-- Each id is looked up by primary key, whatever the statistics say:
-- `j.state || ''` keeps the planner off the partial 'running' indexes, whose
-- dead entries pile up between vacuums (and a stale estimate once made it scan
-- them once per input row), and the ids as an array make the lookups an index
-- condition (with statistics taken before any job ran, every worker null, the
-- plan by estimate walked the whole primary key once per statement).
WHERE j.id = ANY(ARRAY(SELECT id FROM c))
  AND j.id = c.id AND (j.state || '') = 'running' AND j.attempt = c.attempt AND j.worker = $2
RETURNING j.id, j.batch_id
