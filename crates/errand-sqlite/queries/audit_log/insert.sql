INSERT INTO errand_audit (at, record) VALUES (?1, ?2) RETURNING id
