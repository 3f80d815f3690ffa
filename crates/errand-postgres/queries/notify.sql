-- Wakes listening workers (jobs became available without an insert).
SELECT pg_notify('{channel}', '')
