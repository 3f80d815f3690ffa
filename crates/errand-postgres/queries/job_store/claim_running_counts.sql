SELECT kind, count(*) FROM {schema}.jobs
WHERE state = 'running' AND kind = ANY($1)
GROUP BY kind
