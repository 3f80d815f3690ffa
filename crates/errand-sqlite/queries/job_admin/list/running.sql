-- Running jobs (?5 'running'), through the index of their leases; named
-- because the planner would rather walk the primary key for the order,
-- over every job when few run.
FROM errand_jobs INDEXED BY errand_jobs_lease
WHERE state = 'running'
