-- ?1 batch id. The write transaction holds the lock already (SQLite has one
-- writer); this reads whether the batch takes jobs.
SELECT finished_at IS NOT NULL AS finished, cancelled_at IS NOT NULL AS cancelled FROM errand_batches WHERE id = ?1
