-- Jobs that differ only by input: shared fields bound once, inputs as a JSON
-- array ($1). Rows are inserted in array order, so their ids ascend with it.
INSERT INTO {schema}.jobs (kind, queue, priority, tenant, input, state, attempt, max_attempts,
                           run_at, created_at, batch_id, cron_name, cron_fire_at, meta)
SELECT $2, $3, $4, $5, t.input, 'available', 0, $6, $7, $8, $9, $10, $11, $12
FROM jsonb_array_elements($1) WITH ORDINALITY AS t(input, ord)
ORDER BY t.ord
RETURNING id
