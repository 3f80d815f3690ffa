-- Lists of one kind's or one queue's jobs walk these instead of every
-- job. They hold finished jobs only: every claim and finalize writes a
-- new row version, which a full index would take an entry for each time
-- (the reason migration 5 dropped the kind index); these take one, when
-- the job finishes. Waiting and running jobs are found through their own
-- indexes.
CREATE INDEX jobs_finished_kind ON {schema}.jobs (kind, id)
    WHERE state IN ('completed', 'failed', 'cancelled');
CREATE INDEX jobs_finished_queue ON {schema}.jobs (queue, id)
    WHERE state IN ('completed', 'failed', 'cancelled');
-- Jobs with an error, the only ones a search of error text can find: a
-- job's row versions enter it once an attempt has failed, so a job that
-- never fails pays nothing for it.
CREATE INDEX jobs_erred ON {schema}.jobs (id) WHERE errors <> '[]'::jsonb;
