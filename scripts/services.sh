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
