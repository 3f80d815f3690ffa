-- A listing in two parts (see columns.sql): each part is a whole listing
-- in parentheses, ordered and cut to the page; this merges them.
SELECT * FROM (
  (
