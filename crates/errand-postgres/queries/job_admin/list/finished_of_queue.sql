-- One queue's finished jobs ($2), down their index by queue and id
-- (migration 20), merged with unfinished_of_queue.sql.
FROM {schema}.jobs
WHERE queue = $2 AND state IN ('completed', 'failed', 'cancelled')
