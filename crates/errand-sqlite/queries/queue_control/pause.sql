-- ?1 scope, ?2 name, ?3 by, ?4 note, ?5 now. An existing pause is kept:
-- the answer is the pause in force and whether this call created it.
INSERT INTO errand_pauses (scope, name, paused_by, note, paused_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (scope, name) DO NOTHING
RETURNING scope, name, paused_by, note, paused_at
