-- Jobs of different shapes: every field of every job in a JSON array ($1); $2 now.
-- ROWS FROM is the form that allows WITH ORDINALITY with a column list.
INSERT INTO {schema}.jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                           run_at, created_at, batch_id, cron_name, cron_fire_at, meta)
-- A JSON null input comes out of jsonb_to_recordset as SQL NULL: keep it JSON.
SELECT j.kind, j.queue, j.priority, j.tenant, coalesce(j.input, 'null'), 'available', 0, j.max_attempts,
       j.run_at, $2, j.batch_id, j.cron_name, j.cron_fire_at, coalesce(j.meta, '{}')
FROM ROWS FROM (jsonb_to_recordset($1) AS (kind text, queue text, priority smallint, tenant text,
                                           input jsonb, max_attempts integer, run_at timestamptz,
                                           batch_id bigint, cron_name text, cron_fire_at timestamptz,
                                           meta jsonb))
     WITH ORDINALITY AS j(kind, queue, priority, tenant, input, max_attempts, run_at, batch_id,
                          cron_name, cron_fire_at, meta, ord)
ORDER BY j.ord
RETURNING id
