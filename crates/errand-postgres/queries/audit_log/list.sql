SELECT id, record FROM {schema}.audit WHERE id < $1 ORDER BY id DESC LIMIT $2
