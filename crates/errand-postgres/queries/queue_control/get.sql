-- $1 scope, $2 name.
SELECT scope, name, paused_by, note, paused_at FROM {schema}.pauses
WHERE scope = $1 AND name = $2
