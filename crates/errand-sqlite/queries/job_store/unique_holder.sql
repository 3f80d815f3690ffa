SELECT id FROM errand_jobs WHERE unique_slot = ?1
