-- ?1 JSON array of records, in order. A fire time decided meanwhile is kept
-- as it was (the unique index).
INSERT INTO errand_cron_ledger (tenant, name, fire_at, decided_at, reason, fires, job_id)
SELECT json_extract(value, '$.tenant'), json_extract(value, '$.name'),
       json_extract(value, '$.fire_at'), json_extract(value, '$.decided_at'),
       json_extract(value, '$.reason'), json_extract(value, '$.fires'),
       json_extract(value, '$.job_id')
FROM json_each(?1)
WHERE true
ORDER BY key
ON CONFLICT DO NOTHING
