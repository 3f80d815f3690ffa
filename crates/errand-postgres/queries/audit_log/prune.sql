DELETE FROM {schema}.audit WHERE at < $1
