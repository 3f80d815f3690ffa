-- Entries of the kinds in ?2 (a JSON array) with a fire time due at ?1 or a
-- buffered fire, earliest first; ?3 limit. Each arm reads its own index.
SELECT * FROM errand_cron_entries
WHERE rowid IN (
        SELECT rowid FROM errand_cron_entries WHERE next_fire_at <= ?1
        UNION
        SELECT rowid FROM errand_cron_entries WHERE buffered_fire_at IS NOT NULL)
  AND kind IN (SELECT value FROM json_each(?2))
ORDER BY next_fire_at
LIMIT ?3
