-- ?1 scope, ?2 name.
SELECT scope, name, paused_by, note, paused_at FROM errand_pauses
WHERE scope = ?1 AND name = ?2
