-- $1 batch id: finishes it if sealed and no job waits or runs.
SELECT {schema}.batches_finish(ARRAY[$1::bigint])
