-- Lists of one queue's jobs walk this index instead of every job. Queues
-- never change, so a job enters it once, when enqueued.
CREATE INDEX errand_jobs_queue ON errand_jobs (queue, id);
-- Jobs with an error, the only ones a search of error text can find:
-- jobs enter it when an attempt first fails, so a job that never fails
-- pays nothing for it.
CREATE INDEX errand_jobs_erred ON errand_jobs (id) WHERE errors <> '[]';
