-- ?1 tenant; ?2 continuations (JSON); ?3 now. Sealed later, once its jobs are in.
INSERT INTO errand_batches (tenant, continuations, created_at, changed_at)
VALUES (?1, ?2, ?3, ?3)
RETURNING id
