-- Every filter is optional (NULL: none): ?1 tenant ('' for none), ?2 kind,
-- ?3 enabled, ?4 and ?5 the key to list after; ?6 limit.
SELECT * FROM errand_cron_entries
WHERE (?1 IS NULL OR tenant = ?1)
  AND (?2 IS NULL OR kind = ?2)
  AND (?3 IS NULL OR enabled = ?3)
  AND (?4 IS NULL OR (tenant, name) > (?4, ?5))
ORDER BY tenant, name
LIMIT ?6
