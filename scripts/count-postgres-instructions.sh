#!/usr/bin/env bash
# Counts the PostgreSQL server's instructions per job for the statements a
# busy worker runs (claim a batch, complete it), with valgrind's callgrind.
# A rate on a shared 2-core machine moves by half within minutes; this count
# repeats, so it tells whether a change to a query, an index or a table
# setting makes the server do less. Not run by CI.
#
# usage: scripts/count-postgres-instructions.sh [BINARY] [ITERATIONS] [BATCH]
#   BINARY      an errand CLI (default target/release/errand): its migrations
#   ITERATIONS  claim + complete rounds (default 300)
#   BATCH       jobs per claim and per completion (default 16)
# The queries come from this checkout. PLAN_CACHE_MODE=auto lets the server
# choose between custom and generic plans (the store forces generic ones).
# KEEP=1 keeps the work folder (scripts, logs, callgrind files) for a look.
#
# The table holds 20,000 jobs more than the rounds take: with only the jobs
# it claims, and column statistics taken before any ran (no worker set), the
# completion of older code was planned as a walk of the whole table
# (finalize_complete.sql now rules that out); the extra jobs keep counts of
# older code comparable.
#
# It runs `postgres --single` (one backend, no client protocol: parameters
# arrive as literals of EXECUTE) on a throwaway cluster, once without the
# rounds and once with them, and divides the difference by the jobs. Needs
# valgrind and PostgreSQL's server binaries; run as root or as postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:-target/release/errand}")
iterations=${2:-300}
batch=${3:-16}
plan_cache_mode=${PLAN_CACHE_MODE:-force_generic_plan}
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
queries=$PWD/crates/errand-postgres/queries
work=$(mktemp -d /tmp/errand-pg-count.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
chmod 777 "$work"
as_postgres() {
    if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else bash -c "$1"; fi
}
as_postgres "$bindir/initdb -D $work/template -A trust -U postgres >/dev/null"

# Statements for single-user mode: each ends with a semicolon and a blank line.
statement() { printf '%s;\n\n' "$1"; }
query() { sed -e 's/{schema}/"xp"/g' -e '/^ *--/d' "$queries/$1.sql"; }
script() {
    local rounds=$1
    "$binary" migrate --print-sql --schema xp --database-url postgres://localhost/x |
        sed -e '/^ *--/d' -e '/^$/d' |
        awk '{ print } /\$\$/ { body = !body } /;$/ && !body { print "" }'
    statement "SET jit = off"
    statement "SET enable_bitmapscan = off"
    statement "SET enable_seqscan = off"
    statement "SET synchronous_commit = off"
    statement "SET plan_cache_mode = $plan_cache_mode"
    statement "INSERT INTO \"xp\".jobs (kind, queue, input, state, max_attempts, run_at, created_at)
SELECT 'noop', 'default', '{}', 'available', 25, '2026-01-01', '2026-01-01'
FROM generate_series(1, $((iterations * batch + 20000)))"
    statement 'VACUUM ANALYZE "xp".jobs'
    statement "PREPARE claim(text, text, timestamptz, timestamptz, text[], bigint) AS
$(query claim_queue_busy)"
    statement "PREPARE complete(jsonb, text, timestamptz) AS
$(query finalize_complete)"
    statement CHECKPOINT
    local round k items
    for ((round = 0; round < rounds; round++)); do
        statement "EXECUTE claim('default', 'w', '2026-02-01', '2026-02-02', '{noop}', $batch)"
        items=""
        for ((k = 1; k <= batch; k++)); do
            items+="${items:+,}{\"id\":$((round * batch + k)),\"attempt\":1,\"output\":null}"
        done
        statement "EXECUTE complete('[$items]', 'w', '2026-02-01')"
    done
    statement "SELECT count(*) AS completed FROM \"xp\".jobs WHERE state = 'completed'"
}
count() {
    local name=$1 rounds=$2
    cp -a "$work/template" "$work/$name"
    script "$rounds" >"$work/$name.sql"
    as_postgres "valgrind --tool=callgrind --callgrind-out-file=$work/$name.out \
        $bindir/postgres --single -j -D $work/$name postgres <$work/$name.sql >$work/$name.log 2>&1"
    if ! grep -q "completed = \"$((rounds * batch))\"" "$work/$name.log"; then
        echo "the $name run did not complete $((rounds * batch)) jobs:" >&2
        grep -E 'ERROR|completed' "$work/$name.log" >&2 || tail -5 "$work/$name.log" >&2
        exit 1
    fi
    awk '/^summary:/ { print $2 }' "$work/$name.out"
}
setup=$(count setup 0)
total=$(count rounds "$iterations")
jobs=$((iterations * batch))
echo "setup: $setup instructions; with $iterations rounds of $batch jobs: $total"
echo "per job (claim + complete): $(((total - setup) / jobs)) instructions"
