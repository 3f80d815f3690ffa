-- A period-scoped key stops holding once its period is over.
UPDATE errand_jobs SET unique_slot = NULL
WHERE unique_slot = ?1 AND unique_until IS NOT NULL AND unique_until <= ?2
