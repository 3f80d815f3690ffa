-- ?1 tenant, ?2 name. The ledger stays: its fire times are never decided again.
DELETE FROM errand_cron_entries WHERE tenant = ?1 AND name = ?2
