DELETE FROM errand_jobs WHERE id = ?1 AND state <> 'running'
