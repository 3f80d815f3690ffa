-- Global first, then queues, then tenants, by name.
SELECT scope, name, paused_by, note, paused_at FROM {schema}.pauses
ORDER BY CASE scope WHEN 'all' THEN 0 WHEN 'queue' THEN 1 ELSE 2 END, name
