-- One kind's finished jobs ($1), down their index by kind and id
-- (migration 20: finished jobs only, so a job enters it once, when it
-- finishes). Merged with unfinished_of_kind.sql: one ordered walk over
-- both is planned as a sort of every job of the kind.
FROM {schema}.jobs
WHERE kind = $1 AND state IN ('completed', 'failed', 'cancelled')
