-- $1 scope, $2 name.
DELETE FROM {schema}.pauses WHERE scope = $1 AND name = $2
RETURNING scope, name, paused_by, note, paused_at
