-- $1 tenants. Takes, without waiting, the lock (until commit) under which a
-- claimer counts and claims a limited tenant's jobs; returns the tenants it
-- got. A tenant another claimer holds is passed over by this claim.
SELECT t FROM unnest($1::text[]) AS t
WHERE pg_try_advisory_xact_lock(hashtextextended('errand:{schema}:tenant:' || t, 0))
