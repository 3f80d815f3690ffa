DELETE FROM {schema}.workers WHERE beat_at < $1
