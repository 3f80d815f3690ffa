-- ?1 tenant: its batches on record, their jobs summed from the counts each
-- batch keeps, read through the (tenant, id) index.
SELECT count(*) AS batches, coalesce(sum(finished_at IS NULL), 0) AS unfinished,
       coalesce(sum(total), 0) AS total, coalesce(sum(waiting), 0) AS waiting,
       coalesce(sum(running), 0) AS running, coalesce(sum(completed), 0) AS completed,
       coalesce(sum(failed), 0) AS failed, coalesce(sum(cancelled), 0) AS cancelled
FROM errand_batches WHERE tenant = ?1
