-- The jobs table's row count as its last vacuum or analyze recorded it (-1
-- before the first), from which the store sets the distance to its next
-- vacuum (see `vacuum_distance`).
SELECT reltuples::float8 FROM pg_class WHERE oid = '{schema}.jobs'::regclass
