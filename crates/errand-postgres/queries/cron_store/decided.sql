-- $1 JSON array of {tenant, name, fire_at}: those a ledger already decided.
SELECT l.tenant, l.name, l.fire_at
FROM jsonb_to_recordset($1) AS k(tenant text, name text, fire_at timestamptz)
JOIN {schema}.cron_ledger l
  ON l.tenant = k.tenant AND l.name = k.name AND l.fire_at = k.fire_at
WHERE l.reason NOT IN ('manual', 'buffered')
