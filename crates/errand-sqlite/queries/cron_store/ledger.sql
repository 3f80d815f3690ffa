-- ?1 tenant, ?2 name, ?3 limit: newest first.
SELECT fire_at, decided_at, reason, fires, job_id FROM errand_cron_ledger
WHERE tenant = ?1 AND name = ?2
ORDER BY id DESC
LIMIT ?3
