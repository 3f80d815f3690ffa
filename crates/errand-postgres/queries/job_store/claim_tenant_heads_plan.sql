-- Before the first heads query of a claim transaction. Statistics taken
-- while the table was small make the planner read the queue's due index
-- and sort it by tenant (a whole backlog per step); without sorts it walks
-- the tenant index, which gives that order. Until the transaction ends.
SET LOCAL enable_sort = off
