-- $1 JSON array of {tenant, name, next_fire_at, last_fire_at, buffered_fire_at,
-- last_job_id (null: keep)}.
UPDATE {schema}.cron_entries e
SET next_fire_at = u.next_fire_at,
    last_fire_at = u.last_fire_at,
    buffered_fire_at = u.buffered_fire_at,
    last_job_id = coalesce(u.last_job_id, e.last_job_id)
FROM jsonb_to_recordset($1) AS u(tenant text, name text, next_fire_at timestamptz,
     last_fire_at timestamptz, buffered_fire_at timestamptz, last_job_id bigint)
WHERE e.tenant = u.tenant AND e.name = u.name
