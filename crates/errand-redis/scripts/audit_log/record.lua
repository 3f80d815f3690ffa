-- ARGV: prefix, origin, at (unix microseconds), record (JSON). Keeps the
-- record in <P>:audit (member "<id> <record>", scored by id) and its time in
-- <P>:audit_at (member id, scored by time, for pruning). Returns the id.
local id = redis.call('INCR', P .. ':audit_seq')
redis.call('ZADD', P .. ':audit', id, id .. ' ' .. ARGV[4])
redis.call('ZADD', P .. ':audit_at', ARGV[3], id)
return id
