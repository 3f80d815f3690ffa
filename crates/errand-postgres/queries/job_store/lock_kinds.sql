-- Claimers of globally limited kinds take these locks (until commit) so that
-- counting running jobs and claiming happen one claimer at a time per kind.
SELECT pg_advisory_xact_lock(hashtextextended('errand:{schema}:' || k, 0))
FROM unnest($1::text[]) AS k
ORDER BY k
