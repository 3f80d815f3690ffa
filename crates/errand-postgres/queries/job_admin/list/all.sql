-- No filter an index serves (none, or only completed jobs, most of a
-- store): walked down the primary key from the page's start.
FROM {schema}.jobs
WHERE id < $7
