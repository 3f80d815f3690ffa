-- ?1 JSON array of {tenant, name, next_fire_at, last_fire_at, buffered_fire_at,
-- last_job_id (null: keep)}.
UPDATE errand_cron_entries
SET next_fire_at = json_extract(u.value, '$.next_fire_at'),
    last_fire_at = json_extract(u.value, '$.last_fire_at'),
    buffered_fire_at = json_extract(u.value, '$.buffered_fire_at'),
    last_job_id = coalesce(json_extract(u.value, '$.last_job_id'), last_job_id)
FROM json_each(?1) u
WHERE tenant = json_extract(u.value, '$.tenant') AND name = json_extract(u.value, '$.name')
