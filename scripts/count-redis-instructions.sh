#!/usr/bin/env bash
# Instructions the Redis server executes per processed job, counted by
# valgrind's callgrind: unlike a rate, the count repeats within a fraction of
# a percent from run to run whatever else the machine does, so two versions
# of the scripts compare in one run each. Not part of the tests.
#
#   scripts/count-redis-instructions.sh [ERRAND_BINARY] [JOBS]
#
# ERRAND_BINARY defaults to target/release/errand (build it first with
# `cargo build --release -p errand-cli`), JOBS to 20000. REDIS_SERVER names
# the server binary (default: redis-server on PATH; a build with symbols lets
# `callgrind_annotate` name functions, totals need none). The server runs on
# port 6391 (PORT to change) with persistence off, and is shut down after.
set -euo pipefail

errand="${1:-target/release/errand}"
jobs="${2:-20000}"
port="${PORT:-6391}"
server="${REDIS_SERVER:-redis-server}"
out="$(mktemp -d /tmp/errand-callgrind.XXXXXX)"

command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$server" --port "$port" --save '' --appendonly no >"$out/server.log" 2>&1 &
vg=$!
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$vg" 2>/dev/null || true' EXIT
deadline=$((SECONDS + 60))
until redis-cli -p "$port" ping >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
        echo "the server under valgrind did not answer on port $port; see $out/server.log" >&2
        exit 1
    fi
    sleep 0.5
done

# The counters are zeroed when the bulk enqueue has ended and dumped when the
# processing phase has: the count covers claims and finalizes only.
"$errand" bench --backend redis --database-url "redis://127.0.0.1:$port" \
    --jobs "$jobs" --single 1 --latency-samples 1 2>&1 |
    while IFS= read -r line; do
        case "$line" in
        "enqueue bulk:"*) callgrind_control -z "$vg" >/dev/null 2>&1 ;;
        "process:"*)
            callgrind_control -d "$vg" >/dev/null 2>&1
            echo "$line"
            ;;
        esac
    done

dump="$(ls -t "$out"/callgrind.out.* | head -1)"
total="$(awk '/^summary:/ {print $2}' "$dump")"
echo "server instructions while processing: $total, per job: $((total / jobs)) (profile: $dump)"
