-- Each claim and each completion inserted an entry into the kind index for
-- every job (a quarter of the index writes of a job's life). Only listing by
-- kind used it; that now walks the primary key newest first, as listing
-- without a filter does.
DROP INDEX IF EXISTS {schema}.jobs_kind;
