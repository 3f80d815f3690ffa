-- $1 only ids below this one (the caller passes the largest id for the
-- first page, so that the primary key is walked from that point down);
-- $2 most rows.
SELECT id, tenant, total, waiting, running, completed, failed, cancelled, sealed,
       continuations, created_at, cancelled_at, finished_at
FROM {schema}.batches WHERE id < $1
ORDER BY id DESC
LIMIT $2
