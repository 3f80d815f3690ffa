-- Finished batches by finish time: the pruner deletes a batch's record
-- once its retention has passed, reading the oldest first from here.
CREATE INDEX errand_batches_finished ON errand_batches (finished_at)
WHERE finished_at IS NOT NULL;
