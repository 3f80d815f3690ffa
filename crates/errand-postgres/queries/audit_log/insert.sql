INSERT INTO {schema}.audit (at, record) VALUES ($1, $2) RETURNING id
