-- ?1 JSON array of [queue, tenant ('' for none), state, change]: finished
-- jobs counted in or out by the statement before it, in its transaction.
INSERT INTO errand_job_counts (queue, tenant, state, count)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1) WHERE true
ON CONFLICT (queue, tenant, state) DO UPDATE SET count = count + excluded.count
