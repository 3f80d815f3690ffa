-- Entries of the kinds $2 with a fire time due at $1 or a buffered fire,
-- earliest first; $3 limit.
SELECT * FROM {schema}.cron_entries
WHERE (next_fire_at <= $1 OR buffered_fire_at IS NOT NULL)
  AND kind = ANY($2)
ORDER BY next_fire_at
LIMIT $3
