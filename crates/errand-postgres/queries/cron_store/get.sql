-- $1 tenant ('' for none), $2 name.
SELECT * FROM {schema}.cron_entries WHERE tenant = $1 AND name = $2
