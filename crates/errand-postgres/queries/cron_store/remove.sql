-- $1 tenant, $2 name. The ledger stays: its fire times are never decided again.
DELETE FROM {schema}.cron_entries WHERE tenant = $1 AND name = $2
