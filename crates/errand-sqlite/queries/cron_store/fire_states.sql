-- ?1 JSON array of {tenant, name}: where each entry stands, with the stored
-- state of its latest job if that job still exists. The write transaction
-- holds them until it commits.
SELECT e.tenant, e.name, e.enabled, e.next_fire_at, e.last_fire_at, e.buffered_fire_at,
       j.state AS last_job_state
FROM json_each(?1) k
JOIN errand_cron_entries e
  ON e.tenant = json_extract(k.value, '$.tenant') AND e.name = json_extract(k.value, '$.name')
LEFT JOIN errand_jobs j ON j.id = e.last_job_id
