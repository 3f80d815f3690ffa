-- The claim of one queue while it has more due jobs than a claim takes: one
-- statement that walks the due index from its head and stops at the limit.
-- (When fewer are due it would walk every job scheduled for later, so then
-- claim_queue.sql is used instead.)
-- $1 queue, $2 worker, $3 now, $4 lease end, $5 kinds, $6 limit.
--
-- The picked rows are updated by their ctid, which the row lock keeps still:
-- one fetch per row, where a join on id descended the primary key again,
-- and the only plan a generic plan can choose (a join on id became a merge
-- join walking the whole key). A row that another transaction changed after
-- this statement's snapshot is locked in its new version, which the update
-- does not see: it is left waiting for the next claim, never half-claimed.
--
-- `hashtext(queue) = hashtext($1)` selects the due index's range (the index
-- is keyed by the name's hash, see migration 0007); `queue = $1` then drops
-- jobs of another queue whose name has the same hash.
WITH picked AS (
    SELECT ctid FROM {schema}.jobs
    WHERE state = 'available' AND hashtext(queue) = hashtext($1) AND queue = $1 AND run_at <= $3 AND kind = ANY($5)
    ORDER BY priority, run_at, id
    LIMIT $6
    FOR UPDATE SKIP LOCKED
)
UPDATE {schema}.jobs AS j
SET state = 'running', attempt = j.attempt + 1, worker = $2, started_at = $3,
    lease_until = $4, cancel_requested = false
FROM picked
WHERE j.ctid = picked.ctid
RETURNING j.id, j.kind, j.queue, j.priority, j.tenant, j.input, j.output, j.errors, j.state,
          j.attempt, j.max_attempts, j.run_at, j.created_at, j.started_at, j.finished_at,
          j.lease_until, j.worker, j.unique_key, j.batch_id, j.cron_name, j.cron_fire_at,
          j.meta, j.cancel_requested
