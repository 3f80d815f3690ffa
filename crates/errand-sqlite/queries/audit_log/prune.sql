DELETE FROM errand_audit WHERE at < ?1
