-- Every filter is optional (NULL: no filter) but ?7, the id a page starts
-- below (the largest id for the first page): a plain range, so the walk
-- starts there in its index. ?5 is the public state, derived for waiting
-- jobs from run_at (against ?9, now) and attempt. ?10 is text an attempt
-- error's message contains (lower() folds ASCII letters only, as every
-- store does).
  AND (?1 IS NULL OR kind = ?1)
  AND (?2 IS NULL OR queue = ?2)
  AND (?3 IS NULL OR tenant = ?3)
  AND (?4 IS NULL OR batch_id = ?4)
  AND (?5 IS NULL OR ?5 = CASE
         WHEN state <> 'available' THEN state
         WHEN run_at <= ?9 THEN 'available'
         WHEN attempt = 0 THEN 'scheduled'
         ELSE 'retrying' END)
  AND (?6 IS NULL OR unique_key = ?6)
  AND id < ?7
  AND (?10 IS NULL OR EXISTS (
         SELECT 1 FROM json_each(errors)
         WHERE instr(lower(json_extract(value, '$.message')), lower(?10)) > 0))
ORDER BY id DESC
LIMIT ?8
