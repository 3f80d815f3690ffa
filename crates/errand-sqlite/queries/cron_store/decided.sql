-- ?1 JSON array of {tenant, name, fire_at}: those a ledger already decided.
SELECT l.tenant, l.name, l.fire_at
FROM json_each(?1) k
JOIN errand_cron_ledger l
  ON l.tenant = json_extract(k.value, '$.tenant') AND l.name = json_extract(k.value, '$.name')
 AND l.fire_at = json_extract(k.value, '$.fire_at')
WHERE l.reason NOT IN ('manual', 'buffered')
