-- $1 JSON array of {tenant, name, fire_at}: the buffered records a release replaces.
DELETE FROM {schema}.cron_ledger l
USING jsonb_to_recordset($1) AS k(tenant text, name text, fire_at timestamptz)
WHERE l.reason = 'buffered' AND l.tenant = k.tenant AND l.name = k.name
  AND l.fire_at = k.fire_at
