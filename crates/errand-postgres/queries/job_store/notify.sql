-- Wakes listening workers (jobs became available without an insert, or
-- errand's own enqueues, whose insert trigger stays silent). $1 is the
-- sending store's origin, so that its own listener can skip it.
SELECT pg_notify('{channel}', $1)
