-- ?1 JSON array of {tenant, name}: keep the newest ?2 records of each.
DELETE FROM errand_cron_ledger
WHERE id IN (
    SELECT id FROM (
        SELECT l.id, row_number() OVER (PARTITION BY l.tenant, l.name ORDER BY l.id DESC) AS n
        FROM errand_cron_ledger l
        JOIN json_each(?1) k
          ON l.tenant = json_extract(k.value, '$.tenant')
         AND l.name = json_extract(k.value, '$.name'))
    WHERE n > ?2)
