-- $1 JSON array of {tenant, name}: where each entry stands, with the stored
-- state of its latest job if that job still exists. The rows stay locked
-- until the transaction ends; one another scheduler holds is skipped (that
-- scheduler is deciding it).
SELECT e.tenant, e.name, e.enabled, e.next_fire_at, e.last_fire_at, e.buffered_fire_at,
       (SELECT j.state FROM {schema}.jobs j WHERE j.id = e.last_job_id) AS last_job_state
FROM {schema}.cron_entries e
JOIN jsonb_to_recordset($1) AS k(tenant text, name text)
  ON e.tenant = k.tenant AND e.name = k.name
FOR UPDATE OF e SKIP LOCKED
