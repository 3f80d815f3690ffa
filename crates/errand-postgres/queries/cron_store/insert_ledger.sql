-- $1 JSON array of records, in order. A fire time decided meanwhile is kept
-- as it was (the unique index).
INSERT INTO {schema}.cron_ledger (tenant, name, fire_at, decided_at, reason, fires, job_id)
SELECT tenant, name, fire_at, decided_at, reason, fires, job_id
FROM ROWS FROM (jsonb_to_recordset($1) AS (tenant text, name text, fire_at timestamptz,
         decided_at timestamptz, reason text, fires bigint, job_id bigint))
     WITH ORDINALITY AS k(tenant, name, fire_at, decided_at, reason, fires, job_id, n)
ORDER BY n
ON CONFLICT DO NOTHING
