-- One batch's jobs that do not run ($4), down the batch index by batch
-- and id (which leaves running jobs out, migration 15), merged with
-- running_of_batch.sql.
FROM {schema}.jobs
WHERE batch_id = $4 AND state <> 'running'
