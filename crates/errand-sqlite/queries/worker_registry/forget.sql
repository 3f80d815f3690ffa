DELETE FROM errand_workers WHERE beat_at < ?1
