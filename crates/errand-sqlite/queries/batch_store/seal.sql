-- ?1 batch id; ?2 now. The finish trigger fires when no job waits or runs.
UPDATE errand_batches SET sealed = 1, changed_at = ?2
WHERE id = ?1 AND sealed = 0 AND finished_at IS NULL
