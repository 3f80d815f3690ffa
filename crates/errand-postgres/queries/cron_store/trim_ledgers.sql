-- $1 JSON array of {tenant, name}: keep the newest $2 records of each.
DELETE FROM {schema}.cron_ledger
WHERE id IN (
    SELECT id FROM (
        SELECT l.id, row_number() OVER (PARTITION BY l.tenant, l.name ORDER BY l.id DESC) AS n
        FROM {schema}.cron_ledger l
        JOIN jsonb_to_recordset($1) AS k(tenant text, name text)
          ON l.tenant = k.tenant AND l.name = k.name) ranked
    WHERE n > $2)
