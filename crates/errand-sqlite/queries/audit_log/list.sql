SELECT id, record FROM errand_audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2
