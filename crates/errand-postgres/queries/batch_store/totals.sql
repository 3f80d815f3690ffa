-- Every batch on record, its jobs summed from the counts it keeps.
SELECT count(*) AS batches, count(*) FILTER (WHERE finished_at IS NULL) AS unfinished,
       coalesce(sum(total), 0)::bigint AS total, coalesce(sum(waiting), 0)::bigint AS waiting,
       coalesce(sum(running), 0)::bigint AS running,
       coalesce(sum(completed), 0)::bigint AS completed,
       coalesce(sum(failed), 0)::bigint AS failed,
       coalesce(sum(cancelled), 0)::bigint AS cancelled
FROM {schema}.batches
