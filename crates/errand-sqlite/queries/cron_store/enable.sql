-- ?1 tenant, ?2 name, ?3 enabled, ?4 note, ?5 now.
UPDATE errand_cron_entries SET enabled = ?3, note = ?4, updated_at = ?5
WHERE tenant = ?1 AND name = ?2
RETURNING *
