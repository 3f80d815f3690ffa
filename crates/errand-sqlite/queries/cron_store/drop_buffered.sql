-- ?1 JSON array of {tenant, name, fire_at}: the buffered records a release replaces.
DELETE FROM errand_cron_ledger
WHERE reason = 'buffered'
  AND (tenant, name, fire_at) IN (
      SELECT json_extract(value, '$.tenant'), json_extract(value, '$.name'),
             json_extract(value, '$.fire_at')
      FROM json_each(?1))
