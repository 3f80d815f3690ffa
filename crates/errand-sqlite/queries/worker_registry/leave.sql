DELETE FROM errand_workers WHERE name = ?1
