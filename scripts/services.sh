#!/usr/bin/env bash
# Makes sure the servers the tests talk to are reachable; sourced by test.sh.
# Uses ERRAND_TEST_POSTGRES_URL / ERRAND_TEST_REDIS_URL when set. For the local
# defaults it starts the server if it is installed but down, and installs it
# with apt-get if it is missing. A server that stays unreachable is an error:
# tests never skip a backend silently.

pg_ready() {
  psql "$ERRAND_TEST_POSTGRES_URL" -Atc 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
  if pg_ready; then return 0; fi
  case "$ERRAND_TEST_POSTGRES_URL" in
    postgres://postgres@127.0.0.1:5432/test) ;;
    *) echo "error: PostgreSQL at ERRAND_TEST_POSTGRES_URL=$ERRAND_TEST_POSTGRES_URL is unreachable" >&2; return 1 ;;
  esac
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "==> installing PostgreSQL (apt-get)"
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null || return 1
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    # Trust local connections (the tests use user postgres without a password).
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    echo "==> starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 60); do
    if psql "postgres://postgres@127.0.0.1:5432/postgres" -Atc 'select 1' >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  psql "postgres://postgres@127.0.0.1:5432/postgres" -Atc \
    "select 1 from pg_database where datname = 'test'" 2>/dev/null | grep -q 1 ||
    psql "postgres://postgres@127.0.0.1:5432/postgres" -qc 'create database test' >/dev/null 2>&1 || true
  if pg_ready; then return 0; fi
  echo "error: PostgreSQL is required and could not be reached at $ERRAND_TEST_POSTGRES_URL" >&2
  return 1
}

redis_ready() {
  command -v redis-cli >/dev/null 2>&1 &&
    [ "$(redis-cli -u "$ERRAND_TEST_REDIS_URL" ping 2>/dev/null)" = PONG ]
}

ensure_redis() {
  if redis_ready; then return 0; fi
  case "$ERRAND_TEST_REDIS_URL" in
    redis://127.0.0.1:6379) ;;
    *) echo "error: Redis at ERRAND_TEST_REDIS_URL=$ERRAND_TEST_REDIS_URL is unreachable" >&2; return 1 ;;
  esac
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "==> installing Redis (apt-get)"
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null || return 1
  fi
  echo "==> starting Redis"
  # A throwaway server: nothing kept on disk.
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null || true
  for _ in $(seq 1 40); do
    if redis_ready; then return 0; fi
    sleep 0.25
  done
  echo "error: Redis is required and could not be reached at $ERRAND_TEST_REDIS_URL" >&2
  return 1
}

cluster_ready() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  local first="${ERRAND_TEST_REDIS_CLUSTER_URL%%,*}"
  redis-cli -u "$first" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  # Three masters, each with a replica.
  [ "$(redis-cli -u "$first" cluster nodes 2>/dev/null | grep -c 'master' )" -ge 3 ] &&
    [ "$(redis-cli -u "$first" cluster nodes 2>/dev/null | grep -c 'slave' )" -ge 3 ]
}

# A Redis Cluster of three masters and three replicas on 127.0.0.1:7000-7005
# (nothing kept on disk), unless ERRAND_TEST_REDIS_CLUSTER_URL names another.
ensure_redis_cluster() {
  if cluster_ready; then return 0; fi
  case "$ERRAND_TEST_REDIS_CLUSTER_URL" in
    redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002) ;;
    *) echo "error: the Redis Cluster at ERRAND_TEST_REDIS_CLUSTER_URL=$ERRAND_TEST_REDIS_CLUSTER_URL is unreachable or not ok" >&2; return 1 ;;
  esac
  ensure_redis >/dev/null || return 1
  local base=/tmp/errand-redis-cluster nodes=()
  echo "==> starting a Redis Cluster on 127.0.0.1:7000-7005"
  for port in 7000 7001 7002 7003 7004 7005; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$base"
  for port in 7000 7001 7002 7003 7004 7005; do
    mkdir -p "$base/$port"
    redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$base/$port" \
      --logfile "$base/$port/redis.log" --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 >/dev/null || return 1
    nodes+=("127.0.0.1:$port")
  done
  for port in 7000 7001 7002 7003 7004 7005; do
    for _ in $(seq 1 40); do
      [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
      sleep 0.25
    done
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null || return 1
  for _ in $(seq 1 120); do
    if cluster_ready; then return 0; fi
    sleep 0.25
  done
  echo "error: the Redis Cluster on 127.0.0.1:7000-7005 did not become ready" >&2
  return 1
}

# The dashboard's browser test: Debian's chromium, Node.js and the pinned
# playwright-core of crates/errand-admin/tests/browser (npm ci, from its lock
# file). Installed when missing; a failed install is an error.
ensure_browser() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]} (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
  fi
  local dir
  dir="$(dirname "${BASH_SOURCE[0]}")/../crates/errand-admin/tests/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ]; then
    echo "==> npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --silent) || return 1
  fi
}
