-- Folds the changes statements appended into the counts, in key order (two
-- folds at once wait for each other's rows rather than deadlock). A change
-- appended meanwhile stays for the next fold: each is folded once.
WITH folded AS (
    DELETE FROM {schema}.job_count_changes RETURNING queue, tenant, state, change
)
INSERT INTO {schema}.job_counts AS c (queue, tenant, state, count)
SELECT queue, tenant, state, sum(change) FROM folded
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (queue, tenant, state) DO UPDATE SET count = c.count + excluded.count
