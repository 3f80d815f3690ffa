SELECT state FROM errand_jobs WHERE id = ?1
