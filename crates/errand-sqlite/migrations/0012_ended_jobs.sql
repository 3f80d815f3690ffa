-- Failed and cancelled jobs by state, newest first: a listing of dead
-- letters (or of cancelled jobs when there are none) reads them here
-- instead of walking every completed job. Jobs enter it only when they
-- fail or are cancelled, so the job path pays nothing for it.
CREATE INDEX errand_jobs_ended ON errand_jobs (state, id)
    WHERE state IN ('failed', 'cancelled');
