INSERT INTO errand_workers (name, beat_at, beat) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET beat_at = excluded.beat_at, beat = excluded.beat
